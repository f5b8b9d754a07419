// The job error taxonomy (DESIGN §4, after Spin Cycle's job errors). Each has a
// stable `code` and says whether it is `permanent`; callers branch on those,
// never on message text. Any other thrown value is retryable.
import type { ErrorInfo } from '../schemas/index.ts';

export class JobError extends Error {
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

export function isJobError(err: unknown): err is JobError {
  return err instanceof JobError;
}

/** Any thrown value as ErrorInfo; unknown errors are retryable. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof JobError) return err.toInfo();
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
