// The side effects of a decision: forwarding to the next tier, notifying, and
// replaying what failed (dead letters). Shared by the delivery, the redrive
// route and the CLI, so a replay does exactly what the first try did.
import type { Logger } from 'pino';
import type {
  AttemptLedger,
  BlobStore,
  Clock,
  DeadLetter,
  LineageRecord,
  Notifier,
  NotifyTarget,
  TaskEnvelope,
  TaskQueue,
  Tier,
} from '../interfaces.ts';
import type { ErrorInfo, EventKind } from '../schemas/index.ts';
import { buildCloudEvent } from '../notifier/cloud-event.ts';
import { nextTierTaskName } from '../queues/tier-names.ts';
import { toErrorInfo } from '../jobs/errors.ts';

export interface EffectsDeps {
  ledger: AttemptLedger;
  queue?: TaskQueue;
  notifier: Notifier;
  blobs?: BlobStore;
  clock: Clock;
  chain: Tier[];
  /** CloudEvents `source`. */
  source: string;
  notifyOn: Set<EventKind>;
  invokerServiceAccount?: string;
  /** dispatchDeadline put on forwarded tasks (seconds). */
  dispatchDeadlineSeconds: number;
  offloadThresholdBytes: number;
  /** Earlier-tier attempts carried in a forwarded envelope. */
  maxEnvelopeHistory?: number;
}

export interface NotifyContext {
  type: string;
  queue: string;
  tier: number;
  attempt: number;
  maxAttempts: number | null;
  error?: ErrorInfo;
  result?: unknown;
  nextQueue?: string;
}

export function createEffects(deps: EffectsDeps) {
  const iso = (ms: number) => new Date(ms).toISOString();

  /** Send one event if NOTIFY_ON asks for it; on failure keep it as a dead letter. */
  async function notify(kind: EventKind, record: LineageRecord, ctx: NotifyContext, target: NotifyTarget, log: Logger): Promise<boolean> {
    if (!deps.notifyOn.has(kind)) return true;
    const now = deps.clock.now();
    const event = buildCloudEvent({
      kind,
      source: deps.source,
      time: new Date(now),
      data: {
        id: record.id,
        type: ctx.type,
        queue: ctx.queue,
        tier: ctx.tier,
        attempt: ctx.attempt,
        maxAttempts: ctx.maxAttempts,
        state: record.state,
        ...(ctx.error ? { error: ctx.error } : {}),
        ...(ctx.result !== undefined ? { result: ctx.result } : {}),
        ...(ctx.nextQueue ? { nextQueue: ctx.nextQueue } : {}),
        ...(record.labels ? { labels: record.labels } : {}),
        startedAt: record.createdAt,
        finishedAt: iso(now),
      },
    });
    try {
      await deps.notifier.send(event, target);
      return true;
    } catch (err) {
      const error = toErrorInfo(err);
      log.error({ err: { code: error.code, message: error.message }, event: event.id }, 'notification failed; kept as a dead letter');
      await deps.ledger.putDeadLetter({
        key: `${record.id}/notify/${event.id.slice(record.id.length + 1)}`,
        lineageId: record.id,
        kind: 'notify',
        event,
        target,
        error,
        createdAt: iso(now),
      });
      return false;
    }
  }

  /**
   * The envelope the next tier receives: same lineage id, tier + 1, the
   * attempts so far in `history`, large inline data offloaded to the blob store.
   */
  async function nextEnvelope(envelope: TaskEnvelope, record: LineageRecord, nextTier: number): Promise<TaskEnvelope> {
    const carried = [...(envelope.history ?? [])];
    const seen = new Set(carried.map((h) => `${h.tier}/${h.attempt}`));
    for (const h of record.history) {
      if (h.tier < nextTier && !seen.has(`${h.tier}/${h.attempt}`)) carried.push({ ...h });
    }
    const max = deps.maxEnvelopeHistory ?? 50;
    const next: TaskEnvelope = { ...envelope, id: record.id, tier: nextTier, history: carried.slice(-max) };
    if (next.data !== undefined && deps.blobs) {
      const size = Buffer.byteLength(JSON.stringify(next));
      if (size > deps.offloadThresholdBytes) {
        const ref = await deps.blobs.put(`payloads/${record.id}`, Buffer.from(JSON.stringify(next.data)), 'application/json');
        delete next.data;
        next.dataRef = ref;
      }
    }
    return next;
  }

  /** Create the lineage's task in `tier` under its deterministic name. */
  async function createForward(envelope: TaskEnvelope, tier: number, taskName: string): Promise<void> {
    const target = deps.chain[tier];
    if (!target) throw new Error(`no tier ${tier} in CHAIN`);
    if (!target.url) throw new Error(`tier "${target.queue}" has no URL: set SERVICE_URL or queue@url in CHAIN`);
    if (!deps.queue) throw new Error('no Cloud Tasks backend configured');
    await deps.queue.createTask({
      queue: target.queue,
      taskName,
      url: target.url,
      body: Buffer.from(JSON.stringify(envelope)),
      headers: { 'Content-Type': 'application/json' },
      ...(deps.invokerServiceAccount ? { oidc: { serviceAccountEmail: deps.invokerServiceAccount, audience: target.url } } : {}),
      dispatchDeadlineSeconds: deps.dispatchDeadlineSeconds,
    });
  }

  /**
   * Forward a lineage whose tier is exhausted. Returns the next queue, or an
   * error after keeping the envelope as a dead letter.
   */
  async function forward(
    envelope: TaskEnvelope,
    record: LineageRecord,
    fromTier: number,
    log: Logger,
  ): Promise<{ ok: true; nextQueue: string } | { ok: false; error: ErrorInfo }> {
    const tier = fromTier + 1;
    const taskName = nextTierTaskName(record.id, tier);
    const key = `${record.id}/forward/${tier}`;
    let next: TaskEnvelope = envelope;
    try {
      next = await nextEnvelope(envelope, record, tier);
      await createForward(next, tier, taskName);
      // A previous failed try may have left a dead letter for this hop.
      await deps.ledger.removeDeadLetter(key);
      return { ok: true, nextQueue: deps.chain[tier]!.queue };
    } catch (err) {
      const error = { ...toErrorInfo(err), code: 'ForwardFailed' };
      log.error({ err: { message: error.message }, tier, taskName }, 'forwarding failed; kept as a dead letter');
      await deps.ledger.putDeadLetter({
        key,
        lineageId: record.id,
        kind: 'forward',
        envelope: next,
        tier,
        taskName,
        error,
        createdAt: iso(deps.clock.now()),
      });
      return { ok: false, error };
    }
  }

  /** Replay one dead letter; removes it when it went through. */
  async function redrive(letter: DeadLetter, log: Logger): Promise<{ ok: boolean; error?: ErrorInfo }> {
    try {
      if (letter.kind === 'forward') {
        if (!letter.envelope || letter.tier === undefined || !letter.taskName) throw new Error('dead letter lacks its envelope');
        await createForward(letter.envelope, letter.tier, letter.taskName);
        const record = await deps.ledger.get(letter.lineageId);
        const from = letter.tier - 1;
        if (record && record.state !== 'forwarded') {
          await deps.ledger.finish({
            id: letter.lineageId,
            tier: from,
            attempt: record.attempts[String(from)] ?? 1,
            outcome: 'forwarded',
            now: deps.clock.now(),
          });
        }
      } else {
        if (!letter.event) throw new Error('dead letter lacks its event');
        await deps.notifier.send(letter.event, letter.target ?? {});
      }
      await deps.ledger.removeDeadLetter(letter.key);
      log.info({ key: letter.key, kind: letter.kind }, 'dead letter redriven');
      return { ok: true };
    } catch (err) {
      const error = toErrorInfo(err);
      log.warn({ key: letter.key, err: { message: error.message } }, 'redrive failed; dead letter kept');
      return { ok: false, error };
    }
  }

  /** Replay every dead letter of one lineage (or all); true when none is left. */
  async function redriveAll(lineageId: string | undefined, log: Logger): Promise<{ redriven: number; failed: number }> {
    const letters = await deps.ledger.listDeadLetters(lineageId);
    let redriven = 0;
    let failed = 0;
    for (const l of letters) {
      const r = await redrive(l, log);
      if (r.ok) redriven++;
      else failed++;
    }
    return { redriven, failed };
  }

  return { notify, forward, redrive, redriveAll };
}

export type Effects = ReturnType<typeof createEffects>;
