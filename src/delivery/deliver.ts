// One delivery in, one outcome out: the decision table of DESIGN §3. Plain
// code over interfaces; the routes translate HTTP in and the outcome out.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AttemptLedger, BlobStore, Clock, JobRegistry, JobResult, LineageRecord, TaskEnvelope, Tier } from '../interfaces.ts';
import type { ErrorInfo } from '../schemas/index.ts';
import { intakeTask, type RejectedBody } from './intake.ts';
import { scopeDataRef } from '../blobs/ref-scope.ts';
import { JobError, RunTimeout, ShuttingDown, toErrorInfo } from '../jobs/errors.ts';
import { headerAttempt, type PushHeaders } from './push-headers.ts';
import type { ConcurrencyLimiter } from './concurrency-limiter.ts';
import type { Effects } from './effects.ts';
import { replayFieldsOf } from '../operator/replay.ts';
import type { OutputHub } from '../output/output-hub.ts';
import type { JobCompletion } from './job-completion.ts';

export interface DeliveryDeps {
  ledger: AttemptLedger;
  registry: JobRegistry;
  effects: Effects;
  limiter: ConcurrencyLimiter;
  blobs?: BlobStore;
  clock: Clock;
  chain: Tier[];
  jobTimeoutMs: number;
  logger: Logger;
  /** Results larger than this go to the blob store (or are truncated). */
  inlineResultBytes?: number;
  /** Retry-After sent with 429. */
  throttleRetryAfterSeconds?: number;
  /** BLOB_REF_KEY: accepts dataRefs signed for the lineage (blobs/ref-scope.ts). */
  blobRefKey?: string;
  /** Live output and status text of running jobs (src/output/). */
  output?: OutputHub;
  /** Counts ended tasks of jobs (DESIGN §8). */
  jobs?: JobCompletion;
}

export interface DeliveryInput {
  /** The raw body; parsed as JSON whatever the Content-Type says. */
  body: Buffer | undefined;
  /** The route already found the body unusable (over its limit, a bad Pub/Sub wrapper). */
  rejected?: RejectedBody;
  push: PushHeaders;
  /** Tier implied by the route (Pub/Sub subscription); else envelope.tier or the queue header. */
  tierHint?: number;
  /** Extra fields for the delivery's child logger (trace). */
  logFields?: Record<string, unknown>;
}

export type OutcomeKind =
  | 'succeeded'
  | 'failed'
  | 'forwarded'
  | 'retry'
  | 'throttled'
  | 'duplicate'
  | 'aborted'
  | 'dead-letter';

export interface DeliveryOutcome {
  /** HTTP status for Cloud Tasks: 2xx ends the task, anything else retries it. */
  status: 200 | 429 | 500 | 503;
  outcome: OutcomeKind;
  id: string;
  attempt?: number;
  tier?: number;
  retryAfterSeconds?: number;
  error?: ErrorInfo;
}

export interface Delivery {
  deliver(input: DeliveryInput): Promise<DeliveryOutcome>;
  /** Abort every running job (SIGTERM); their deliveries answer 503. */
  shutdown(): void;
  /** Abort the running job of a lineage in this process, if any. */
  abort(id: string): boolean;
  readonly running: number;
}

class Cancelled extends JobError {
  constructor() {
    super('Cancelled', 'the task was cancelled', true);
  }
}

export function createDelivery(deps: DeliveryDeps): Delivery {
  const running = new Map<string, Set<AbortController>>();
  let shuttingDown = false;
  const inlineLimit = deps.inlineResultBytes ?? 64 * 1024;
  const lastTier = deps.chain.length - 1;

  function tierOf(envelope: TaskEnvelope | undefined, input: DeliveryInput): number {
    let tier = input.tierHint ?? envelope?.tier;
    if (tier === undefined && input.push.queueName) {
      const i = deps.chain.findIndex((t) => t.queue === input.push.queueName);
      if (i >= 0) tier = i;
    }
    return Math.min(Math.max(tier ?? 0, 0), lastTier);
  }

  function lineageIdOf(envelope: TaskEnvelope | undefined, input: DeliveryInput, bodySha256: string | undefined): string {
    if (envelope?.id) return envelope.id;
    if (input.push.taskName) return input.push.taskName;
    // No name to key on (a direct POST): content hash for unusable bodies, so a
    // repeat is recognised; a fresh id otherwise.
    if (!envelope) return `invalid-${bodySha256}`;
    return randomUUID();
  }

  async function deliver(input: DeliveryInput): Promise<DeliveryOutcome> {
    // 1. Parse whatever arrived (intake.ts). A bad body is a permanent failure, never a 4xx/5xx.
    const intake = intakeTask(input.body, input.rejected);
    const envelope: TaskEnvelope | undefined = intake.ok ? intake.envelope : undefined;
    const invalid: ErrorInfo | undefined = intake.ok ? undefined : intake.error;

    const id = lineageIdOf(envelope, input, intake.ok ? undefined : intake.sha256);
    const tier = tierOf(envelope, input);
    const tierConf = deps.chain[tier]!;
    const queue = input.push.queueName ?? tierConf.queue;
    const maxAttempts = tierConf.maxAttempts;
    const type = envelope?.type ?? 'unknown';
    let log = deps.logger.child({ queue, task: input.push.taskName, tier, jobType: type, lineage: id, ...(envelope?.labels ? { labels: envelope.labels } : {}), ...input.logFields });
    if (input.push.problems.length) log.warn({ problems: input.push.problems }, 'garbled Cloud Tasks headers ignored');

    // 2. Count the attempt (atomic) and drop duplicates of an ended lineage.
    const begun = await deps.ledger.begin({
      id,
      tier,
      queue,
      taskName: input.push.taskName ?? id,
      type,
      headerAttempt: headerAttempt(input.push),
      maxAttempts,
      ...(envelope?.notify ? { notify: envelope.notify } : {}),
      ...(envelope?.dataRef ? { dataRef: envelope.dataRef } : {}),
      ...replayFieldsOf(envelope),
      ...(envelope?.job ? { job: envelope.job } : {}),
      ...(envelope?.labels ? { labels: envelope.labels } : {}),
      now: deps.clock.now(),
    });
    if (begun.duplicate) return duplicate(begun.record, tier, log);
    const attempt = begun.attempt;
    const final = maxAttempts !== null && attempt >= maxAttempts;
    log = log.child({ attempt });
    const notifyCtx = { type, queue, tier, attempt, maxAttempts };
    const target = envelope?.notify ?? begun.record.notify ?? {};

    // 3. Unusable task: record and acknowledge.
    if (invalid || !envelope) {
      const error = invalid!;
      log.warn({ err: { code: error.code, message: error.message } }, 'malformed task acknowledged as a permanent failure');
      return ended('failed', error, undefined);
    }

    // 4. Concurrency: refuse with 429 unless this is the final attempt.
    if (!deps.limiter.tryAcquire()) {
      if (!final) {
        await deps.ledger.finish({ id, tier, attempt, outcome: 'throttled', now: deps.clock.now() });
        log.info('throttled at the concurrency limit');
        const retryAfterSeconds = deps.throttleRetryAfterSeconds ?? 2;
        return { status: 429, outcome: 'throttled', id, attempt, tier, retryAfterSeconds };
      }
      log.warn('concurrency limit reached on the final attempt: treated as exhausted');
      return exhausted({ code: 'Overloaded', message: 'concurrency limit reached on the final attempt', permanent: false });
    }

    // 5. Run the job.
    let result: JobResult | undefined;
    let failure: ErrorInfo | undefined;
    let retryAfterSeconds: number | undefined;
    let abortedByShutdown = false;
    let out: ReturnType<OutputHub['start']> | undefined;
    const ctl = new AbortController();
    track(id, ctl);
    const timer = setTimeout(() => ctl.abort(new RunTimeout(Math.round(deps.jobTimeoutMs / 1000))), deps.jobTimeoutMs);
    try {
      if (shuttingDown) ctl.abort(new ShuttingDown());
      const job = deps.registry.make(envelope.type);
      job.deserialize(Buffer.from(JSON.stringify(envelope.args ?? {})));
      const data = envelope.dataRef ? await loadData(envelope.dataRef, id) : envelope.data;
      const started = Date.now();
      out = deps.output?.start({ id, createdAt: begun.record.createdAt, tier, attempt, job, log });
      const ctx = { id, attempt, maxAttempts, final, tier, signal: ctl.signal, log: out?.log ?? log, setStatus: out?.setStatus ?? (() => {}) };
      result = await runAbortable(job.run(data, ctx), ctl.signal, () => job.stop());
      log.debug({ ms: Date.now() - started }, 'job returned');
      if (result.state !== 'succeeded') {
        failure = result.error ?? { code: 'JobFailed', message: `job ended in state ${result.state}${result.exit !== undefined ? ` (exit ${result.exit})` : ''}`, permanent: false };
        retryAfterSeconds = result.retryAfterSeconds;
      }
    } catch (err) {
      failure = toErrorInfo(err);
      if (err instanceof JobError && err.retryAfterSeconds !== undefined) retryAfterSeconds = err.retryAfterSeconds;
      abortedByShutdown = err instanceof ShuttingDown;
    } finally {
      clearTimeout(timer);
      untrack(id, ctl);
      deps.limiter.release();
      await out?.end(); // before the ledger records the end: readers then know all output is stored
    }

    if (!failure) return ended('succeeded', undefined, result);
    if (failure.permanent) {
      log.info({ err: { code: failure.code, message: failure.message } }, 'job failed permanently');
      return ended('failed', failure, result);
    }
    if (!final) {
      const outcome = abortedByShutdown ? 'aborted' : 'retry';
      await deps.ledger.finish({ id, tier, attempt, outcome, error: failure, now: deps.clock.now() });
      log.info({ err: { code: failure.code, message: failure.message } }, abortedByShutdown ? 'job aborted by shutdown; Cloud Tasks retries' : 'job failed; Cloud Tasks retries');
      return { status: 503, outcome: abortedByShutdown ? 'aborted' : 'retry', id, attempt, tier, error: failure, ...(retryAfterSeconds ? { retryAfterSeconds } : {}) };
    }
    return exhausted(failure);

    // --- endings -------------------------------------------------------

    /** Succeeded, or failed for good: record, clean up, notify. */
    async function ended(state: 'succeeded' | 'failed', error: ErrorInfo | undefined, res: JobResult | undefined): Promise<DeliveryOutcome> {
      const stored = await storeResult(id, res);
      const record = await deps.ledger.finish({
        id,
        tier,
        attempt,
        outcome: state,
        ...(error ? { error } : {}),
        ...(stored.result !== undefined ? { result: stored.result } : {}),
        ...(stored.outputRef ? { outputRef: stored.outputRef } : {}),
        now: deps.clock.now(),
      });
      // Only the lineage's own payload is deleted: a signed reference may be shared.
      if (envelope?.dataRef && deps.blobs && ownPayload(envelope.dataRef, id)) {
        await deps.blobs.delete(envelope.dataRef).catch((err) => log.warn({ err: { message: (err as Error).message } }, 'offloaded payload not deleted'));
      }
      if (state === 'succeeded') log.info('job succeeded');
      const ok = await deps.effects.notify(state, record, { ...notifyCtx, ...(error ? { error } : {}), ...(stored.result !== undefined ? { result: stored.result } : {}) }, target, log);
      await deps.jobs?.lineageEnded(record, log);
      if (!ok) return { status: 500, outcome: 'dead-letter', id, attempt, tier, ...(error ? { error } : {}) };
      return { status: 200, outcome: state, id, attempt, tier, ...(error ? { error } : {}) };
    }

    /** Final attempt failed retryably: forward to the next tier, or fail on the last. */
    async function exhausted(error: ErrorInfo): Promise<DeliveryOutcome> {
      if (tier >= lastTier) {
        log.warn({ err: { code: error.code, message: error.message } }, 'attempts exhausted on the last tier');
        return ended('failed', { ...error, permanent: false }, undefined);
      }
      const fwd = await deps.effects.forward(envelope!, (await deps.ledger.get(id)) ?? begun.record, tier, log);
      if (!fwd.ok) {
        await deps.ledger.finish({ id, tier, attempt, outcome: 'retry', error: fwd.error, now: deps.clock.now() });
        return { status: 500, outcome: 'dead-letter', id, attempt, tier, error: fwd.error };
      }
      const record = await deps.ledger.finish({ id, tier, attempt, outcome: 'forwarded', error, now: deps.clock.now() });
      log.info({ nextQueue: fwd.nextQueue }, 'attempts exhausted; forwarded to the next tier');
      const ok = await deps.effects.notify('forwarded', record, { ...notifyCtx, error, nextQueue: fwd.nextQueue }, target, log);
      if (!ok) return { status: 500, outcome: 'dead-letter', id, attempt, tier, error };
      return { status: 200, outcome: 'forwarded', id, attempt, tier, error };
    }
  }

  /**
   * A delivery of a lineage that already ended (or moved past this tier).
   * Nothing runs; but if something it owed (a forward, a notification) failed
   * earlier, this retry is the moment to replay it.
   */
  async function duplicate(record: LineageRecord, tier: number, log: Logger): Promise<DeliveryOutcome> {
    // Idempotent: counts the job's task if a crash came between the end and the count.
    await deps.jobs?.lineageEnded(record, log);
    const letters = await deps.ledger.listDeadLetters(record.id);
    if (letters.length > 0) {
      const r = await deps.effects.redriveAll(record.id, log);
      if (r.failed > 0) return { status: 500, outcome: 'dead-letter', id: record.id, tier };
    }
    log.info({ state: record.state }, 'duplicate delivery of an ended lineage: nothing runs');
    return { status: 200, outcome: 'duplicate', id: record.id, tier };
  }

  function ownPayload(ref: string, id: string): boolean {
    try {
      return scopeDataRef(deps.blobs!, ref, id, deps.blobRefKey).scope === 'own';
    } catch {
      return false;
    }
  }

  async function loadData(ref: string, id: string): Promise<unknown> {
    if (!deps.blobs) throw new JobError('NoBlobStore', 'dataRef needs BUCKET or BLOB_DIR', true);
    const bytes = await deps.blobs.get(scopeDataRef(deps.blobs, ref, id, deps.blobRefKey).ref);
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch {
      return bytes.toString('utf8');
    }
  }

  async function storeResult(id: string, res: JobResult | undefined): Promise<{ result?: unknown; outputRef?: string }> {
    if (!res) return {};
    const value = res.result !== undefined ? res.result : res.stdout !== undefined || res.exit !== undefined ? { exit: res.exit, stdout: res.stdout, stderr: res.stderr } : undefined;
    if (value === undefined) return {};
    const json = JSON.stringify(value);
    if (json === undefined || Buffer.byteLength(json) <= inlineLimit) return { result: value };
    if (deps.blobs) {
      const outputRef = await deps.blobs.put(`outputs/${id}.json`, Buffer.from(json), 'application/json');
      return { outputRef };
    }
    return { result: { truncated: true, bytes: Buffer.byteLength(json), head: json.slice(0, 1024) } };
  }

  function track(id: string, ctl: AbortController) {
    let set = running.get(id);
    if (!set) running.set(id, (set = new Set()));
    set.add(ctl);
  }
  function untrack(id: string, ctl: AbortController) {
    const set = running.get(id);
    set?.delete(ctl);
    if (set && set.size === 0) running.delete(id);
  }

  return {
    deliver,
    shutdown() {
      shuttingDown = true;
      for (const set of running.values()) for (const ctl of set) ctl.abort(new ShuttingDown());
    },
    abort(id) {
      const set = running.get(id);
      if (!set) return false;
      for (const ctl of set) ctl.abort(new Cancelled());
      return true;
    },
    get running() {
      let n = 0;
      for (const s of running.values()) n += s.size;
      return n;
    },
  };
}

/**
 * Resolve with the job's promise, or reject with the abort reason as soon as
 * the signal fires, so a job that ignores its signal cannot hold the reply.
 */
function runAbortable<T>(p: Promise<T>, signal: AbortSignal, stop: () => Promise<void>): Promise<T> {
  if (signal.aborted) {
    void stop().catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      void stop().catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? signal.reason : e);
      },
    );
  });
}
