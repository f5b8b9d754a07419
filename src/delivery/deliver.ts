// One delivery in, one outcome out: the decision table of DESIGN §3. Plain
// code over interfaces; the routes translate HTTP in and the outcome out.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AttemptLedger, BlobStore, Clock, JobRegistry, JobResult, LineageRecord, TaskEnvelope, Tier } from '../interfaces.ts';
import { PoisonTask, toErrorInfo } from '../jobs/errors.ts';
import { lazyChild } from '../logger.ts';
import { replayFieldsOf } from '../operator/replay.ts';
import type { OutputHub } from '../output/output-hub.ts';
import type { ErrorInfo } from '../schemas/index.ts';
import type { ConcurrencyLimiter } from './concurrency-limiter.ts';
import type { Effects } from './effects.ts';
import { intakeTask, type RejectedBody } from './intake.ts';
import type { JobCompletion } from './job-completion.ts';
import { headerAttempt, type PushHeaders } from './push-headers.ts';
import { createJobRunner } from './run-job.ts';

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
  /** Hash of the body as received, when `body` is its decoding (Content-Encoding); else `body` is hashed. */
  receivedSha256?: () => string;
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
  const runner = createJobRunner({
    registry: deps.registry,
    jobTimeoutMs: deps.jobTimeoutMs,
    ...(deps.blobs ? { blobs: deps.blobs } : {}),
    ...(deps.inlineResultBytes !== undefined ? { inlineResultBytes: deps.inlineResultBytes } : {}),
    ...(deps.blobRefKey !== undefined ? { blobRefKey: deps.blobRefKey } : {}),
    ...(deps.output ? { output: deps.output } : {}),
  });
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
    const intake = intakeTask(input.body, input.rejected, input.receivedSha256);
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

    // 5. A lease that can no longer cover the job's timeout (the begin's answer
    // reached a busy worker late) would let a retry run beside this job once it
    // lapses: give the attempt back, as when throttled, and let the queue retry.
    const leaseUntil = begun.record.lease?.holder === holder ? Date.parse(begun.record.lease.until) : Number.NaN;
    if (leaseUntil - deps.clock.now() < deps.jobTimeoutMs) {
      await deps.ledger.finish({ id, tier, attempt, outcome: 'throttled', holder, now: deps.clock.now() });
      log.warn({ leaseRemainingMs: leaseUntil - deps.clock.now() }, 'run lease too short to cover JOB_TIMEOUT when the job would start: not run, not counted');
      return { outcome: 'throttled', id, tier, retryAfterSeconds: 1 };
    }

    // 6. Concurrency: a refused push is no attempt (the ledger gives the count
    // back); the final attempt may use a bounded overflow before it is refused.
    if (!deps.limiter.tryAcquire(final)) {
      await deps.ledger.finish({ id, tier, attempt, outcome: 'throttled', holder, now: deps.clock.now() });
      log.info({ final }, 'throttled at the concurrency limit; not counted as an attempt');
      const retryAfterSeconds = deps.throttleRetryAfterSeconds ?? 2;
      return { outcome: 'throttled', id, tier, retryAfterSeconds };
    }

    // 7. Run the job, isolated: whatever it throws, wherever, fails only this delivery (run-job.ts).
    const { result, failure, retryAfterSeconds, abortedByShutdown, jobSettled } = await runner.run({
      id,
      createdAt: begun.record.createdAt,
      tier,
      attempt,
      maxAttempts,
      final,
      envelope,
      log,
      release: () => deps.limiter.release(),
    });

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
      const stored = await runner.storeResult(id, res);
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
      if (envelope?.dataRef && deps.blobs && runner.ownPayload(envelope.dataRef, id)) {
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

  return {
    deliver,
    shutdown: () => runner.shutdown(),
    abort: (id) => runner.abort(id),
    get running() {
      return runner.running;
    },
  };
}
