// The side effects of a decision: forwarding to the next tier and notifying,
// through an outbox. The delivery first builds each owed effect (a DeadLetter
// with its event or envelope fixed, so every replay sends the same event id),
// writes it in the same ledger write as the state that owes it, then sends it
// and clears it. The next delivery, the sweep and `executor redrive` replay
// whatever is left. Shared by all of them, so a replay does exactly what the
// first try did.
import type { Logger } from 'pino';
import type { AttemptLedger, BlobStore, Clock, DeadLetter, LineageRecord, Notifier, NotifyTarget, TaskEnvelope, TaskQueue, Tier } from '../interfaces.ts';
import { toErrorInfo } from '../jobs/errors.ts';
import { buildCloudEvent } from '../notifier/cloud-event.ts';
import { nextTierTaskName } from '../queues/tier-names.ts';
import type { ErrorInfo, EventKind } from '../schemas/index.ts';
import { isPermanentSendError } from './send-errors.ts';

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

  /** Whether NOTIFY_ON asks for events of this kind. */
  const wanted = (kind: EventKind) => deps.notifyOn.has(kind);

  /**
   * The notification a transition owes (undefined when NOTIFY_ON does not
   * want it), built now so that every replay sends the very same event.
   */
  function owedNotification(
    kind: EventKind,
    lineage: { id: string; createdAt: string; labels?: Record<string, string> },
    ctx: NotifyContext,
    target: NotifyTarget,
  ): DeadLetter | undefined {
    if (!wanted(kind)) return undefined;
    const now = deps.clock.now();
    const event = buildCloudEvent({
      kind,
      source: deps.source,
      time: new Date(now),
      data: {
        id: lineage.id,
        type: ctx.type,
        queue: ctx.queue,
        tier: ctx.tier,
        attempt: ctx.attempt,
        maxAttempts: ctx.maxAttempts,
        state: kind,
        ...(ctx.error ? { error: ctx.error } : {}),
        ...(ctx.result !== undefined ? { result: ctx.result } : {}),
        ...(ctx.nextQueue ? { nextQueue: ctx.nextQueue } : {}),
        ...(lineage.labels ? { labels: lineage.labels } : {}),
        startedAt: lineage.createdAt,
        finishedAt: iso(now),
      },
    });
    return {
      key: `${lineage.id}/notify/${event.id.slice(lineage.id.length + 1)}`,
      lineageId: lineage.id,
      kind: 'notify',
      event,
      target,
      createdAt: iso(now),
    };
  }

  /**
   * Send one event now, outside the outbox (kept for callers that own no
   * state transition); on failure it is kept as a dead letter.
   */
  async function notify(kind: EventKind, record: LineageRecord, ctx: NotifyContext, target: NotifyTarget, log: Logger): Promise<boolean> {
    const letter = owedNotification(kind, record, ctx, target);
    if (!letter) return true;
    const r = await send(letter, log);
    return r.ok || r.permanent;
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

  /** The forward an exhausted tier owes: the next tier's envelope under its deterministic task name. */
  async function owedForward(envelope: TaskEnvelope, record: LineageRecord, fromTier: number): Promise<DeadLetter> {
    const tier = fromTier + 1;
    return {
      key: `${record.id}/forward/${tier}`,
      lineageId: record.id,
      kind: 'forward',
      envelope: await nextEnvelope(envelope, record, tier),
      tier,
      taskName: nextTierTaskName(record.id, tier),
      createdAt: iso(deps.clock.now()),
    };
  }

  /**
   * Send one owed effect and clear it. On failure it stays, with its error:
   * retryable ones are replayed later; a permanent one (bad URL, missing
   * topic or queue, permission denied) is a dead letter, logged at ERROR.
   */
  async function send(letter: DeadLetter, log: Logger): Promise<{ ok: true } | { ok: false; permanent: boolean; error: ErrorInfo }> {
    try {
      if (letter.kind === 'forward') {
        if (!letter.envelope || letter.tier === undefined || !letter.taskName) throw new Error('dead letter lacks its envelope');
        await createForward(letter.envelope, letter.tier, letter.taskName);
        const record = await deps.ledger.get(letter.lineageId);
        const from = letter.tier - 1;
        // A letter from before the outbox: the forward was not recorded yet.
        if (record && record.state !== 'forwarded' && record.tier === from) {
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
      return { ok: true };
    } catch (err) {
      const permanent = isPermanentSendError(err);
      const base = toErrorInfo(err);
      const error: ErrorInfo = { code: letter.kind === 'forward' ? 'ForwardFailed' : 'NotifyFailed', message: base.message, permanent };
      log.error(
        { err: { code: base.code, message: base.message }, key: letter.key, kind: letter.kind, permanent },
        permanent
          ? 'owed effect failed permanently; kept as a dead letter (acknowledged; redrive after fixing it)'
          : 'owed effect failed; kept, and replayed later',
      );
      await deps.ledger
        .putDeadLetter({ ...letter, error })
        .catch((e) => log.error({ err: { message: (e as Error).message }, key: letter.key }, 'dead letter not updated'));
      return { ok: false, permanent, error };
    }
  }

  /** Replay one letter (explicit redrive: permanent ones too). */
  async function redrive(letter: DeadLetter, log: Logger): Promise<{ ok: boolean; error?: ErrorInfo }> {
    const r = await send(letter, log);
    if (r.ok) log.info({ key: letter.key, kind: letter.kind }, 'dead letter redriven');
    return r.ok ? { ok: true } : { ok: false, error: r.error };
  }

  /**
   * Replay the letters of one lineage (or all). `owedOnly` skips permanent
   * dead letters (the delivery and the sweep); `olderThanMs` leaves letters a
   * live delivery is still sending.
   */
  async function redriveAll(
    lineageId: string | undefined,
    log: Logger,
    opts: { owedOnly?: boolean; olderThanMs?: number } = {},
  ): Promise<{ redriven: number /** Still not sent, `permanent` of them for good. */; failed: number; permanent: number }> {
    const now = deps.clock.now();
    const letters = (await deps.ledger.listDeadLetters(lineageId)).filter(
      (l) => !(opts.owedOnly && l.error?.permanent) && !(opts.olderThanMs !== undefined && now - Date.parse(l.createdAt) < opts.olderThanMs),
    );
    let redriven = 0;
    let failed = 0;
    let permanent = 0;
    for (const l of letters) {
      const r = await send(l, log);
      if (r.ok) redriven++;
      else {
        failed++;
        if (r.permanent) permanent++;
      }
    }
    return { redriven, failed, permanent };
  }

  return { notify, owedNotification, owedForward, send, redrive, redriveAll, wanted };
}

export type Effects = ReturnType<typeof createEffects>;
