// Running one job for a delivery that decided to run it (deliver.ts): the job
// made from the registry, its data loaded from the blob store if offloaded,
// its live output, the timeout, the abort tracking (cancel, shutdown), crash
// isolation, and where its result goes (inline, the blob store, or a cut).
// It answers what happened; deliver.ts decides what that means for the lineage.
import type { Logger } from 'pino';
import { scopeDataRef } from '../blobs/ref-scope.ts';
import type { BlobStore, Job, JobRegistry, JobResult, TaskEnvelope } from '../interfaces.ts';
import { ABORT_RUN } from '../jobs/define-job.ts';
import { Cancelled, NoBlobStore, RunTimeout, retryAfterOf, ShuttingDown, serviceError, toErrorInfo } from '../jobs/errors.ts';
import type { OutputHub } from '../output/output-hub.ts';
import type { ErrorInfo } from '../schemas/index.ts';
import { runIsolated } from './crash-isolation.ts';

export interface JobRunnerDeps {
  registry: JobRegistry;
  blobs?: BlobStore;
  jobTimeoutMs: number;
  /** Results larger than this go to the blob store (or are truncated). */
  inlineResultBytes?: number;
  blobRefKey?: string;
  output?: OutputHub;
}

export interface RunInput {
  id: string;
  /** The lineage record's (live output is keyed by it). */
  createdAt: string;
  tier: number;
  attempt: number;
  maxAttempts: number | null;
  final: boolean;
  envelope: TaskEnvelope;
  log: Logger;
  /** Called as soon as the job is over (before its output is flushed): frees its concurrency slot. */
  release(): void;
}

export interface JobRun {
  result?: JobResult;
  /** Set when the attempt failed (the job's error, a timeout, an abort). */
  failure?: ErrorInfo;
  retryAfterSeconds?: number;
  abortedByShutdown: boolean;
  /** False while the job still runs after its attempt was given up (timeout, abort): its lease must stay. */
  jobSettled: boolean;
}

export interface JobRunner {
  run(input: RunInput): Promise<JobRun>;
  /** Where the result goes: inline when small, else the blob store, else a cut marker. */
  storeResult(id: string, res: JobResult | undefined): Promise<{ result?: unknown; outputRef?: string }>;
  /** Is this dataRef the lineage's own offloaded payload (deleted when it ends)? */
  ownPayload(ref: string, id: string): boolean;
  shutdown(): void;
  abort(id: string): boolean;
  readonly running: number;
}

/** One running attempt: aborting it settles its delivery at once, whatever the job does. */
interface Running {
  ctl: AbortController;
  /** Rejects the attempt with the abort reason and stops the job; set once the job runs. */
  fail(): void;
}

export function createJobRunner(deps: JobRunnerDeps): JobRunner {
  const running = new Map<string, Set<Running>>();
  let shuttingDown = false;
  const inlineLimit = deps.inlineResultBytes ?? 64 * 1024;
  const timeoutSeconds = Math.round(deps.jobTimeoutMs / 1000);

  function abortRun(r: Running, reason: Error): void {
    if (!r.ctl.signal.aborted) r.ctl.abort(reason);
    r.fail();
  }

  // JOB_TIMEOUT of every running attempt on one timer instead of a setTimeout
  // and clearTimeout per delivery (PROFILE.md round 3). Every attempt gets the
  // same timeout on a monotonic clock, so the Map's insertion order is the
  // order of the deadlines: the timer waits for the first one, aborts what is
  // due and waits for the next. A finished attempt only leaves the Map; the
  // timer holds the process open only while an attempt runs, as one timer per
  // attempt did.
  const deadlines = new Map<Running, number>();
  let timeouts: NodeJS.Timeout | undefined;
  function expire(): void {
    const now = performance.now();
    for (const [r, at] of deadlines) {
      if (at > now) break;
      deadlines.delete(r);
      abortRun(r, new RunTimeout(timeoutSeconds));
    }
    const next = deadlines.values().next();
    if (next.done) {
      timeouts = undefined;
      return;
    }
    timeouts = setTimeout(expire, Math.max(1, Math.ceil(next.value - now)));
  }
  function startDeadline(r: Running): void {
    deadlines.set(r, performance.now() + deps.jobTimeoutMs);
    if (timeouts === undefined) timeouts = setTimeout(expire, deps.jobTimeoutMs);
    else if (deadlines.size === 1) timeouts.ref();
  }
  function endDeadline(r: Running): void {
    deadlines.delete(r);
    if (deadlines.size === 0) timeouts?.unref();
  }

  async function run(input: RunInput): Promise<JobRun> {
    const { id, envelope, log } = input;
    let result: JobResult | undefined;
    let failure: ErrorInfo | undefined;
    let retryAfterSeconds: number | undefined;
    let abortedByShutdown = false;
    let jobSettled = true;
    let out: ReturnType<OutputHub['start']> | undefined;
    const r: Running = { ctl: new AbortController(), fail: () => {} };
    track(id, r);
    startDeadline(r);
    try {
      if (shuttingDown) r.ctl.abort(new ShuttingDown());
      const job = deps.registry.make(envelope.type);
      jobSettled = false;
      // The job contract takes bytes (DESIGN §4); a task without args needs no serialising.
      job.deserialize(Buffer.from(envelope.args === undefined ? '{}' : JSON.stringify(envelope.args)));
      const data = envelope.dataRef ? await loadData(envelope.dataRef, id) : envelope.data;
      const started = Date.now();
      out = deps.output?.start({ id, createdAt: input.createdAt, tier: input.tier, attempt: input.attempt, job, log });
      const attemptOut = out;
      const ctx = {
        id,
        attempt: input.attempt,
        maxAttempts: input.maxAttempts,
        final: input.final,
        tier: input.tier,
        signal: r.ctl.signal,
        // Read when the job uses it: a job that never logs gets no tee logger.
        get log() {
          return attemptOut?.log ?? log;
        },
        setStatus: out?.setStatus ?? (() => {}),
        // defineJob's stop() aborts this attempt's controller instead of making a second one.
        [ABORT_RUN]: () => {
          if (!r.ctl.signal.aborted) r.ctl.abort();
        },
      };
      const p = runIsolated(id, () => job.run(data, ctx));
      p.then(
        () => (jobSettled = true),
        () => (jobSettled = true),
      );
      result = await settleOrAbort(p, r, job);
      if (log.isLevelEnabled('debug')) log.debug({ ms: Date.now() - started }, 'job returned');
      if (result.state !== 'succeeded') {
        failure =
          result.error ?? serviceError('JobFailed', `job ended in state ${result.state}${result.exit !== undefined ? ` (exit ${result.exit})` : ''}`, false);
        retryAfterSeconds = result.retryAfterSeconds;
      }
    } catch (err) {
      failure = toErrorInfo(err);
      retryAfterSeconds = retryAfterOf(err);
      abortedByShutdown = failure.code === 'ShuttingDown';
    } finally {
      endDeadline(r);
      untrack(id, r);
      input.release();
      await out?.end(); // before the ledger records the end: readers then know all output is stored
    }
    return {
      ...(result ? { result } : {}),
      ...(failure ? { failure } : {}),
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      abortedByShutdown,
      jobSettled,
    };
  }

  /**
   * The job's promise, or a rejection with the abort reason as soon as the
   * attempt is aborted (timeout, cancel, shutdown), so a job that ignores its
   * signal cannot hold the reply. No listener on the signal: the aborts all
   * come through abortRun, which calls `fail`.
   */
  function settleOrAbort(p: Promise<JobResult>, r: Running, job: Job): Promise<JobResult> {
    return new Promise<JobResult>((resolve, reject) => {
      let done = false;
      r.fail = () => {
        if (done) return;
        done = true;
        void job.stop().catch(() => {});
        reject(r.ctl.signal.reason);
      };
      if (r.ctl.signal.aborted) {
        r.fail();
        return;
      }
      p.then(
        (v) => {
          if (done) return;
          done = true;
          resolve(v);
        },
        (e) => {
          if (done) return;
          done = true;
          reject(r.ctl.signal.aborted ? r.ctl.signal.reason : e);
        },
      );
    });
  }

  function ownPayload(ref: string, id: string): boolean {
    try {
      return scopeDataRef(deps.blobs!, ref, id, deps.blobRefKey).scope === 'own';
    } catch {
      return false;
    }
  }

  async function loadData(ref: string, id: string): Promise<unknown> {
    if (!deps.blobs) throw new NoBlobStore(ref);
    const bytes = await deps.blobs.get(scopeDataRef(deps.blobs, ref, id, deps.blobRefKey).ref);
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch {
      return bytes.toString('utf8');
    }
  }

  async function storeResult(id: string, res: JobResult | undefined): Promise<{ result?: unknown; outputRef?: string }> {
    if (!res) return {};
    const value =
      res.result !== undefined
        ? res.result
        : res.stdout !== undefined || res.exit !== undefined
          ? { exit: res.exit, stdout: res.stdout, stderr: res.stderr }
          : undefined;
    if (value === undefined) return {};
    const json = JSON.stringify(value);
    if (json === undefined || Buffer.byteLength(json) <= inlineLimit) return { result: value };
    if (deps.blobs) {
      const outputRef = await deps.blobs.put(`outputs/${id}.json`, Buffer.from(json), 'application/json');
      return { outputRef };
    }
    return { result: { truncated: true, bytes: Buffer.byteLength(json), head: json.slice(0, 1024) } };
  }

  function track(id: string, r: Running) {
    let set = running.get(id);
    if (!set) running.set(id, (set = new Set()));
    set.add(r);
  }
  function untrack(id: string, r: Running) {
    const set = running.get(id);
    set?.delete(r);
    if (set && set.size === 0) running.delete(id);
  }

  return {
    run,
    storeResult,
    ownPayload,
    shutdown() {
      shuttingDown = true;
      for (const set of running.values()) for (const r of set) abortRun(r, new ShuttingDown());
    },
    abort(id) {
      const set = running.get(id);
      if (!set) return false;
      for (const r of set) abortRun(r, new Cancelled());
      return true;
    },
    get running() {
      let n = 0;
      for (const s of running.values()) n += s.size;
      return n;
    },
  };
}
