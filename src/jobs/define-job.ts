// defineJob: the common case of the job contract (DESIGN §4). A job type is a
// TypeBox schema for its arguments (and optionally its data) plus one `run`
// function; this file supplies create/serialize/deserialize/stop/status.
import type { Static, TRecord, TSchema, TString, TUnknown } from '@sinclair/typebox';
import type { Job, JobContext, JobResult } from '../interfaces.ts';
import { InvalidTask, toErrorInfo, WrongArgType } from './errors.ts';
import { compileValidator, type Validator } from './validate.ts';

/** Makes fresh Job instances of one type (Spin Cycle's job.Factory). */
export interface JobFactory {
  readonly type: string;
  make(): Job;
}

/** What a defineJob `run` receives: the worker's context plus a status setter. */
export interface JobRunContext extends JobContext {
  /** Aborted on timeout, cancel, shutdown, or stop(). */
  signal: AbortSignal;
  /** What status() answers while the job runs; a function is read on each call. */
  setStatus(status: string | (() => string)): void;
}

type AnyArgs = TRecord<TString, TUnknown>;

export interface JobDefinition<A extends TSchema, D extends TSchema> {
  type: string;
  /** Schema of the job's arguments; default: any JSON object. */
  args?: A;
  /** Schema of the run-time data; default: not checked. */
  data?: D;
  /**
   * Do the work. Return a JobResult (anything with state 'succeeded' or
   * 'failed') or a plain value, which becomes { state: 'succeeded', result }.
   * Throw PermanentError / RetryableError to fail; any other throw is retryable.
   */
  run(args: Static<A>, data: Static<D>, ctx: JobRunContext): Promise<JobResult | unknown>;
}

export function defineJob<A extends TSchema = AnyArgs, D extends TSchema = TUnknown>(def: JobDefinition<A, D>): JobFactory {
  // Compiled once per type, shared by every instance.
  const checkArgs: Validator = def.args ? compileValidator(def.args, 'arg') : requireObject;
  const checkData: Validator | undefined = def.data ? compileValidator(def.data, 'data') : undefined;
  return {
    type: def.type,
    make: () => makeJob(def, checkArgs, checkData),
  };
}

/**
 * On a JobContext: aborts `ctx.signal` (the runner's own controller). With it
 * a defineJob run uses ctx.signal as is and stop() aborts it; without it (a
 * context from elsewhere) run makes its own controller and AbortSignal.any.
 * A symbol, so jobs do not see it among the context's fields.
 */
export const ABORT_RUN: unique symbol = Symbol('executor.abortRun');

function makeJob<A extends TSchema, D extends TSchema>(def: JobDefinition<A, D>, checkArgs: Validator, checkData: Validator | undefined): Job {
  let args: Static<A> | undefined;
  let status: string | (() => string) = 'created';
  let stopped = false;
  /** Aborts the signal the current run sees; set when run starts. */
  let abortRun: (() => void) | undefined;

  return {
    type: def.type,
    create(raw) {
      args = checkArgs(raw ?? {}) as Static<A>;
    },
    serialize() {
      return Buffer.from(JSON.stringify(args ?? {}));
    },
    deserialize(bytes) {
      let raw: unknown;
      try {
        raw = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new InvalidTask(`job "${def.type}": arguments are not valid JSON`);
      }
      args = checkArgs(raw) as Static<A>;
    },
    async run(rawData, ctx) {
      // Run without create/deserialize means "no arguments"; required ones still fail.
      const runArgs = args ?? (checkArgs({}) as Static<A>);
      const data = (checkData ? checkData(rawData) : rawData) as Static<D>;
      status = 'running';
      const owned = (ctx as { [ABORT_RUN]?: () => void })[ABORT_RUN];
      let signal = ctx.signal;
      if (owned) abortRun = owned;
      else {
        const stopper = new AbortController();
        signal = AbortSignal.any([ctx.signal, stopper.signal]);
        abortRun = () => stopper.abort();
      }
      if (stopped) abortRun();
      const setStatus = (s: string | (() => string)) => {
        status = s;
        // A text goes out at once; a function is read when the worker polls status().
        if (typeof s === 'string') ctx.setStatus?.(s);
      };
      try {
        // The context's fields with this run's signal and setStatus; ctx.log is
        // read only when the job reads it (its live-output tee is made lazily).
        const runCtx: JobRunContext = {
          id: ctx.id,
          attempt: ctx.attempt,
          maxAttempts: ctx.maxAttempts,
          final: ctx.final,
          tier: ctx.tier,
          signal,
          setStatus,
          get log() {
            return ctx.log;
          },
        };
        const out = await def.run(runArgs, data, runCtx);
        const result = toJobResult(out);
        status = result.state === 'succeeded' ? 'succeeded' : `failed (${result.error?.code ?? 'JobFailed'})`;
        return result;
      } catch (err) {
        status = `failed (${toErrorInfo(err).code})`;
        throw err;
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      abortRun?.();
    },
    status() {
      return typeof status === 'function' ? status() : status;
    },
  };
}

/** True for anything shaped like a JobResult: an object whose state is succeeded/failed. */
export function isJobResult(v: unknown): v is JobResult {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const state = (v as { state?: unknown }).state;
  return state === 'succeeded' || state === 'failed';
}

function toJobResult(out: unknown): JobResult {
  if (isJobResult(out)) return out;
  return out === undefined ? { state: 'succeeded' } : { state: 'succeeded', result: out };
}

function requireObject(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WrongArgType('args', 'object', value);
  return value;
}
