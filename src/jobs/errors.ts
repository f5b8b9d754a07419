// The job error taxonomy (DESIGN §4, after Spin Cycle's job errors). Each has a
// stable `code` and says whether it is `permanent`; callers branch on those,
// never on message text. Any other thrown value is retryable.
//
// Errors are recognised by their fields, not by class identity: a JOBS_MODULE
// that resolved its own copy of this package throws a JobError of another
// class. Every error of the service carries the `Symbol.for` brand below
// (Temporal's SymbolBasedInstanceOfError), and any `{ code: string,
// permanent: boolean }` object is honoured too.
import type { ErrorInfo } from '../schemas/index.ts';

/** Shared by every copy of the package (Symbol.for is process-global). */
export const JOB_ERROR_BRAND: unique symbol = Symbol.for('executor.JobError') as never;

/** Every code the service itself produces; jobs may use codes of their own. */
export type ServiceErrorCode =
  | 'PermanentError'
  | 'RetryableError'
  | 'UnknownJobType'
  | 'ArgNotSet'
  | 'WrongArgType'
  | 'DataNotSet'
  | 'WrongDataType'
  | 'RunTimeout'
  | 'JobNotFound'
  | 'InvalidTask'
  | 'UnsupportedEncoding'
  | 'ShuttingDown'
  | 'Cancelled'
  | 'NoBlobStore'
  | 'Overloaded'
  | 'JobFailed'
  | 'ForwardFailed'
  | 'NotifyFailed'
  | 'PoisonTask'
  | 'JobCrashed'
  | 'MissingCredentials';

export class JobError extends Error {
  readonly [JOB_ERROR_BRAND] = true;
  readonly code: string;
  readonly permanent: boolean;
  /** Seconds Cloud Tasks should wait before the next attempt (503 + Retry-After). */
  readonly retryAfterSeconds?: number;

  constructor(code: string, message: string, permanent: boolean, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.permanent = permanent;
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message, permanent: this.permanent };
  }
}

/** Thrown by a job to end the lineage now: no retry, no forwarding. */
export class PermanentError extends JobError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'PermanentError', message, true, options);
  }
}

/** Thrown by a job to ask for a retry, optionally after a delay. */
export class RetryableError extends JobError {
  constructor(message: string, options?: { cause?: unknown; code?: string; retryAfterSeconds?: number }) {
    super(options?.code ?? 'RetryableError', message, false, options);
  }
}

export class UnknownJobType extends JobError {
  constructor(type: string) {
    super('UnknownJobType', `unknown job type "${type}"`, true);
  }
}

export class ArgNotSet extends JobError {
  readonly arg: string;
  constructor(arg: string) {
    super('ArgNotSet', `job argument "${arg}" is not set`, true);
    this.arg = arg;
  }
}

export class WrongArgType extends JobError {
  readonly arg: string;
  constructor(arg: string, expected: string, got: unknown) {
    super('WrongArgType', `job argument "${arg}" must be ${expected}, got ${describe(got)}`, true);
    this.arg = arg;
  }
}

export class DataNotSet extends JobError {
  readonly key: string;
  constructor(key: string) {
    super('DataNotSet', `job data "${key}" is not set`, true);
    this.key = key;
  }
}

export class WrongDataType extends JobError {
  readonly key: string;
  constructor(key: string, expected: string, got: unknown) {
    super('WrongDataType', `job data "${key}" must be ${expected}, got ${describe(got)}`, true);
    this.key = key;
  }
}

/** The job ran past JOB_TIMEOUT and was aborted. Retryable. */
export class RunTimeout extends JobError {
  constructor(seconds: number) {
    super('RunTimeout', `job exceeded its timeout of ${seconds}s`, false);
  }
}

export class JobNotFound extends JobError {
  constructor(id: string) {
    super('JobNotFound', `job "${id}" not found`, true);
  }
}

/** The envelope itself is unusable (invalid JSON, wrong shape). */
export class InvalidTask extends JobError {
  constructor(message: string) {
    super('InvalidTask', message, true);
  }
}

/** The push's Content-Encoding is not one the service decodes (gzip, deflate, br): the body cannot be read. */
export class UnsupportedEncoding extends JobError {
  constructor(message: string) {
    super('UnsupportedEncoding', message, true);
  }
}

/** A blob reference outside this lineage's scope, or outside the configured store. */
export class BlobRefRefused extends JobError {
  constructor(message: string) {
    super('BlobRefRefused', message, true);
  }
}

/** The worker is shutting down; the job was aborted and Cloud Tasks retries. */
export class ShuttingDown extends JobError {
  constructor() {
    super('ShuttingDown', 'worker is shutting down', false);
  }
}

/** The task was cancelled (operator) while its job ran. */
export class Cancelled extends JobError {
  constructor() {
    super('Cancelled', 'the task was cancelled', true);
  }
}

/** A dataRef arrived but no blob store is configured. */
export class NoBlobStore extends JobError {
  constructor(ref: string) {
    super('NoBlobStore', `dataRef ${ref} needs BUCKET or BLOB_DIR`, true);
  }
}

/** The job threw or rejected outside its own promise (timer, emitter). Retryable. */
export class JobCrashed extends JobError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('JobCrashed', message, false, options);
  }
}

/** The lineage crashed MAX_CRASHES times (attempts begun, never finished). */
export class PoisonTask extends JobError {
  constructor(crashes: number) {
    super('PoisonTask', `the task crashed its worker ${crashes} time(s) (attempts begun and never finished); not run again`, true);
  }
}

/** A Google backend was called without credentials (and no emulator host). */
export class MissingCredentials extends JobError {
  constructor(backend: string, emulatorVariable: string, cause?: unknown) {
    super(
      'MissingCredentials',
      `${backend}: no Google credentials (set GOOGLE_APPLICATION_CREDENTIALS, run with a service account, or set ${emulatorVariable})`,
      false,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** An ErrorInfo of one of the service's own codes. */
export function serviceError(code: ServiceErrorCode, message: string, permanent: boolean): ErrorInfo {
  return { code, message, permanent };
}

/** Branded by any copy of the package, or shaped like one (`{ code, permanent }`). */
export function isJobError(err: unknown): err is { code: string; permanent: boolean; message?: string; retryAfterSeconds?: number } {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as Record<PropertyKey, unknown>;
  if (e[JOB_ERROR_BRAND] === true && typeof e.code === 'string') return true;
  return typeof e.code === 'string' && typeof e.permanent === 'boolean';
}

/** retryAfterSeconds of a job error, if it carries a usable one. */
export function retryAfterOf(err: unknown): number | undefined {
  if (!isJobError(err)) return undefined;
  const s = err.retryAfterSeconds;
  return typeof s === 'number' && Number.isFinite(s) && s > 0 ? s : undefined;
}

/** Any thrown value as ErrorInfo; unknown errors are retryable. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof JobError) return err.toInfo();
  if (isJobError(err)) {
    const message = typeof err.message === 'string' ? err.message : String(err.code);
    return { code: err.code, message, permanent: err.permanent === true };
  }
  if (err instanceof Error) {
    return { code: err.name && err.name !== 'Error' ? err.name : 'Error', message: err.message, permanent: false };
  }
  return { code: 'Error', message: String(err), permanent: false };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
