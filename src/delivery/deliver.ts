// One delivery in, one outcome out: the decision table of DESIGN §3. Plain
// code over interfaces; the routes translate HTTP in and the outcome out.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { scopeDataRef } from '../blobs/ref-scope.ts';
import type { AttemptLedger, BlobStore, Clock, JobRegistry, JobResult, LineageRecord, TaskEnvelope, Tier } from '../interfaces.ts';
import { Cancelled, NoBlobStore, PoisonTask, RunTimeout, retryAfterOf, ShuttingDown, serviceError, toErrorInfo } from '../jobs/errors.ts';
import { lazyChild } from '../logger.ts';
import { replayFieldsOf } from '../operator/replay.ts';
import type { OutputHub } from '../output/output-hub.ts';
import type { ErrorInfo } from '../schemas/index.ts';
import type { ConcurrencyLimiter } from './concurrency-limiter.ts';
import { runIsolated } from './crash-isolation.ts';
import type { Effects } from './effects.ts';
import { intakeTask, type RejectedBody } from './intake.ts';
import type { JobCompletion } from './job-completion.ts';
import { headerAttempt, type PushHeaders } from './push-headers.ts';

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
  /** The run lease lasts the job timeout plus this (LEASE_MARGIN). */
  leaseMarginMs?: number;
  /** Crashes (attempts begun, never finished) before a lineage is poison (MAX_CRASHES). */
  maxCrashes?: number;
  /** Live output and status text of running jobs (src/output/). */
  output?: OutputHub;
  /** Counts ended tasks of jobs (DESIGN §8). */
  jobs?: JobCompletion;
}

/** Retry-After of a busy refusal: the lease's remainder, at most this. */
const MAX_RETRY_AFTER_SECONDS = 60;

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

/**
 * What one delivery did (README "Glossary": one vocabulary with attempt
 * outcomes, lineage states and event kinds where they overlap).
 */
export type OutcomeKind =
  | 'succeeded'
  | 'failed'
  | 'forwarded'
  | 'cancelled'
  | 'retry'
  | 'throttled'
  | 'busy' // another delivery of the lineage holds the run lease
  | 'duplicate'
  | 'aborted'
  | 'owed'; // the state is recorded, an owed effect failed transiently: retried

export interface DeliveryOutcome {
  outcome: OutcomeKind;
  id: string;
  attempt?: number;
  tier?: number;
  retryAfterSeconds?: number;
  error?: ErrorInfo;
  /** Owed effects that failed permanently and were kept as dead letters. */
  deadLetters?: number;
}

export interface Delivery {
  deliver(input: DeliveryInput): Promise<DeliveryOutcome>;
  /** Abort every running job (SIGTERM); their deliveries answer 503. */
  shutdown(): void;
  /** Abort the running job of a lineage in this process, if any. */
  abort(id: string): boolean;
  readonly running: number;
}

export function createDelivery(deps: DeliveryDeps): Delivery {
  const running = new Map<string, Set<AbortController>>();
  let shuttingDown = false;
  const inlineLimit = deps.inlineResultBytes ?? 64 * 1024;
  const lastTier = deps.chain.length - 1;
  const leaseMarginMs = deps.leaseMarginMs ?? 30_000;
  const maxCrashes = deps.maxCrashes ?? 3;

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
    // One child logger per delivery at most, made only when a line is written.
    const log = lazyChild(deps.logger, {
      queue,
      task: input.push.taskName,
      tier,
      jobType: type,
      lineage: id,
      ...(envelope?.labels ? { labels: envelope.labels } : {}),
      ...input.logFields,
    });
    if (input.push.problems.length) log.warn({ problems: input.push.problems }, 'garbled Cloud Tasks headers ignored');

    // 2. Count the attempt (atomic), take the run lease, and drop duplicates
    // of an ended lineage. The lease makes this the only run of the lineage
    // until the job's timeout plus a margin.
    const holder = randomUUID();
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
      lease: { holder, ms: deps.jobTimeoutMs + leaseMarginMs },
      ...replayFieldsOf(envelope),
      ...(envelope?.job ? { job: envelope.job } : {}),
      ...(envelope?.labels ? { labels: envelope.labels } : {}),
      now: deps.clock.now(),
    });
    if (begun.busy) {
      const retryAfterSeconds = Math.min(Math.max(1, Math.ceil(begun.leaseRemainingMs / 1000)), MAX_RETRY_AFTER_SECONDS);
      log.info({ retryAfterSeconds }, 'another delivery of this lineage is running: refused, no attempt counted');
      return { outcome: 'busy', id, tier, retryAfterSeconds };
    }
    if (begun.duplicate) return duplicate(begun.record, tier, log);
    const attempt = begun.attempt;
    const final = maxAttempts !== null && attempt >= maxAttempts;
    log.bind({ attempt });
    const notifyCtx = { type, queue, tier, attempt, maxAttempts };
    const target = envelope?.notify ?? begun.record.notify ?? {};
    const lineage = { id, createdAt: begun.record.createdAt, ...(begun.record.labels ? { labels: begun.record.labels } : {}) };

    // 3. Unusable task: record and acknowledge.
    if (invalid || !envelope) {
      const error = invalid!;
      log.warn({ err: { code: error.code, message: error.message } }, 'malformed task acknowledged as a permanent failure');
      return ended('failed', error, undefined);
    }

    // 4. A lineage whose attempts kept dying with their worker is not run again.
    const crashes = begun.record.crashes ?? 0;
    if (crashes >= maxCrashes) {
      const error = new PoisonTask(crashes).toInfo();
      log.error({ crashes }, 'poison task: failed permanently without running');
      return ended('failed', error, undefined);
    }

    // 5. Concurrency: a refused push is no attempt (the ledger gives the count
    // back); the final attempt may use a bounded overflow before it is refused.
    if (!deps.limiter.tryAcquire(final)) {
      await deps.ledger.finish({ id, tier, attempt, outcome: 'throttled', holder, now: deps.clock.now() });
      log.info({ final }, 'throttled at the concurrency limit; not counted as an attempt');
      const retryAfterSeconds = deps.throttleRetryAfterSeconds ?? 2;
      return { outcome: 'throttled', id, tier, retryAfterSeconds };
    }

    // 6. Run the job, isolated: whatever it throws, wherever, fails only this delivery.
    let result: JobResult | undefined;
    let failure: ErrorInfo | undefined;
    let retryAfterSeconds: number | undefined;
    let abortedByShutdown = false;
    // False while the job still runs after its attempt was given up (timeout, abort).
    let jobSettled = true;
    let out: ReturnType<OutputHub['start']> | undefined;
    const ctl = new AbortController();
    track(id, ctl);
    const timer = setTimeout(() => ctl.abort(new RunTimeout(Math.round(deps.jobTimeoutMs / 1000))), deps.jobTimeoutMs);
    try {
      if (shuttingDown) ctl.abort(new ShuttingDown());
      const job = deps.registry.make(envelope.type);
      jobSettled = false;
      job.deserialize(Buffer.from(JSON.stringify(envelope.args ?? {})));
      const data = envelope.dataRef ? await loadData(envelope.dataRef, id) : envelope.data;
      const started = Date.now();
      out = deps.output?.start({ id, createdAt: begun.record.createdAt, tier, attempt, job, log });
      const ctx = { id, attempt, maxAttempts, final, tier, signal: ctl.signal, log: out?.log ?? log, setStatus: out?.setStatus ?? (() => {}) };
      const running = runIsolated(id, () => job.run(data, ctx));
      running.then(
        () => (jobSettled = true),
        () => (jobSettled = true),
      );
      result = await runAbortable(running, ctl.signal, () => job.stop());
      log.debug({ ms: Date.now() - started }, 'job returned');
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
      clearTimeout(timer);
      untrack(id, ctl);
      deps.limiter.release();
      await out?.end(); // before the ledger records the end: readers then know all output is stored
    }

    if (!failure) return ended('succeeded', undefined, result);
    if (failure.code === 'Cancelled') {
      log.info('job aborted by a cancel');
      return ended('cancelled', failure, result);
    }
    if (failure.permanent) {
      log.info({ err: { code: failure.code, message: failure.message } }, 'job failed permanently');
      return ended('failed', failure, result);
    }
    if (!final) {
      const outcome = abortedByShutdown ? 'aborted' : 'retry';
      // A job that ignores its signal still runs: its lease stays until it expires, so no retry runs beside it.
      await deps.ledger.finish({ id, tier, attempt, outcome, error: failure, holder, ...(jobSettled ? {} : { keepLease: true }), now: deps.clock.now() });
      log.info(
        { err: { code: failure.code, message: failure.message } },
        abortedByShutdown ? 'job aborted by shutdown; Cloud Tasks retries' : 'job failed; Cloud Tasks retries',
      );
      return { outcome, id, attempt, tier, error: failure, ...(retryAfterSeconds ? { retryAfterSeconds } : {}) };
    }
    return exhausted(failure);

    // --- endings -------------------------------------------------------

    /**
     * Succeeded, failed for good, or cancelled: record the state and the
     * notification it owes in one write, then send it and clear it.
     */
    async function ended(state: 'succeeded' | 'failed' | 'cancelled', error: ErrorInfo | undefined, res: JobResult | undefined): Promise<DeliveryOutcome> {
      const stored = await storeResult(id, res);
      const letter = deps.effects.owedNotification(
        state,
        lineage,
        { ...notifyCtx, ...(error ? { error } : {}), ...(stored.result !== undefined ? { result: stored.result } : {}) },
        target,
      );
      const record = await deps.ledger.finish({
        id,
        tier,
        attempt,
        outcome: state,
        ...(error ? { error } : {}),
        ...(stored.result !== undefined ? { result: stored.result } : {}),
        ...(stored.outputRef ? { outputRef: stored.outputRef } : {}),
        holder,
        ...(letter ? { owed: [letter] } : {}),
        now: deps.clock.now(),
      });
      if (record.state !== state) {
        // Someone else ended the lineage first (a cancel): it owes the notification, not us.
        log.info({ state: record.state }, 'the lineage had already ended; nothing owed by this delivery');
        return { outcome: 'duplicate', id, attempt, tier };
      }
      // Only the lineage's own payload is deleted: a signed reference may be shared.
      if (envelope?.dataRef && deps.blobs && ownPayload(envelope.dataRef, id)) {
        await deps.blobs.delete(envelope.dataRef).catch((err) => log.warn({ err: { message: (err as Error).message } }, 'offloaded payload not deleted'));
      }
      if (state === 'succeeded') log.info('job succeeded');
      const sent = letter ? await deps.effects.send(letter, log) : { ok: true as const };
      await deps.jobs?.lineageEnded(record, log);
      if (!sent.ok && !sent.permanent) return { outcome: 'owed', id, attempt, tier, ...(error ? { error } : {}) };
      return { outcome: state, id, attempt, tier, ...(error ? { error } : {}), ...(!sent.ok ? { deadLetters: 1 } : {}) };
    }

    /**
     * Final attempt failed retryably: on the last tier the lineage fails;
     * otherwise record `forwarded` with the owed forward and notification
     * (one write), then create the next tier's task and notify.
     */
    async function exhausted(error: ErrorInfo): Promise<DeliveryOutcome> {
      if (tier >= lastTier) {
        log.warn({ err: { code: error.code, message: error.message } }, 'attempts exhausted on the last tier');
        return ended('failed', { ...error, permanent: false }, undefined);
      }
      let forward;
      try {
        forward = await deps.effects.owedForward(envelope!, (await deps.ledger.get(id)) ?? begun.record, tier);
      } catch (err) {
        const fwdError = { ...toErrorInfo(err), code: 'ForwardFailed' };
        log.error({ err: { message: fwdError.message } }, "the next tier's envelope could not be prepared; Cloud Tasks retries");
        await deps.ledger.finish({ id, tier, attempt, outcome: 'retry', error: fwdError, holder, now: deps.clock.now() });
        return { outcome: 'owed', id, attempt, tier, error: fwdError };
      }
      const nextQueue = deps.chain[tier + 1]!.queue;
      const letter = deps.effects.owedNotification('forwarded', lineage, { ...notifyCtx, error, nextQueue }, target);
      const record = await deps.ledger.finish({
        id,
        tier,
        attempt,
        outcome: 'forwarded',
        error,
        holder,
        owed: letter ? [forward, letter] : [forward],
        now: deps.clock.now(),
      });
      if (record.state !== 'forwarded') {
        log.info({ state: record.state }, 'the lineage had already ended; not forwarded');
        return { outcome: 'duplicate', id, attempt, tier };
      }
      let deadLetters = 0;
      const fwd = await deps.effects.send(forward, log);
      if (!fwd.ok && !fwd.permanent) return { outcome: 'owed', id, attempt, tier, error: fwd.error };
      if (!fwd.ok) deadLetters++;
      else log.info({ nextQueue }, 'attempts exhausted; forwarded to the next tier');
      if (letter) {
        const sent = await deps.effects.send(letter, log);
        if (!sent.ok && !sent.permanent) return { outcome: 'owed', id, attempt, tier, error };
        if (!sent.ok) deadLetters++;
      }
      return { outcome: 'forwarded', id, attempt, tier, error, ...(deadLetters ? { deadLetters } : {}) };
    }
  }

  /**
   * A delivery of a lineage that already ended (or moved past this tier).
   * Nothing runs; but what it still owes (a forward, a notification whose
   * send failed or whose worker died) is replayed now.
   */
  async function duplicate(record: LineageRecord, tier: number, log: Logger): Promise<DeliveryOutcome> {
    // Idempotent: counts the job's task if a crash came between the end and the count.
    await deps.jobs?.lineageEnded(record, log);
    const r = await deps.effects.redriveAll(record.id, log, { owedOnly: true });
    if (r.failed > r.permanent) return { outcome: 'owed', id: record.id, tier };
    log.info({ state: record.state, replayed: r.redriven }, 'duplicate delivery of an ended lineage: nothing runs');
    return { outcome: 'duplicate', id: record.id, tier, ...(r.permanent ? { deadLetters: r.permanent } : {}) };
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
