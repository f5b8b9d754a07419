// The ledger's semantics as pure functions over plain records, so the memory
// and Firestore backends cannot drift apart: each backend only reads a record,
// applies one of these, and writes the result atomically (DESIGN §3).

import type { AttemptEntry, AttemptOutcome, BeginInput, BeginResult, FinishInput, LineageRecord, LineageState } from '../interfaces.ts';
import { ENDED_STATES } from '../interfaces.ts';
import { isoTime } from './iso-time.ts';

export const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_MAX_HISTORY = 100;

export interface LineageRules {
  /** How long a finished record is kept. */
  ttlMs: number;
  /** History entries kept per record (newest win). */
  maxHistory: number;
}

const STATE_OF: Record<FinishInput['outcome'], LineageState> = {
  succeeded: 'succeeded',
  failed: 'failed',
  retry: 'retrying',
  throttled: 'throttled',
  forwarded: 'forwarded',
  // A shutdown abort is not the job's fault: Cloud Tasks delivers it again.
  aborted: 'retrying',
  crashed: 'retrying',
  cancelled: 'cancelled',
};

export function isEnded(state: LineageState): boolean {
  return ENDED_STATES.includes(state);
}

/** A record past its expiresAt is treated as gone, before any TTL sweep deletes it. */
export function isExpired(record: LineageRecord, now: number): boolean {
  return record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now;
}

const iso = isoTime;

function trimHistory(history: AttemptEntry[], max: number): AttemptEntry[] {
  return history.length > max ? history.slice(history.length - max) : history;
}

/** What a begin decided, and the record to write (none = write nothing). */
export interface BeginDecision {
  result: BeginResult;
  write?: LineageRecord;
}

/**
 * Start an attempt on `current` (undefined = no record, or an expired one).
 * Duplicate: the lineage ended or moved past this tier (write nothing).
 * Busy: another delivery holds an unexpired lease; the refused push is
 * counted in `skipped` (so the header attempt it raised is discounted) and
 * no attempt is counted. An expired lease is an attempt that began and never
 * finished: it is marked `crashed` and counted in `crashes`.
 * `current` is not modified.
 */
export function applyBegin(current: LineageRecord | undefined, input: BeginInput, rules: LineageRules): BeginDecision {
  const now = iso(input.now);
  const key = String(input.tier);
  if (current !== undefined) {
    const stale = current.tier > input.tier; // a late delivery of an earlier tier
    const forwardedFromHere = current.tier === input.tier && current.state === 'forwarded';
    if (isEnded(current.state) || stale || forwardedFromHere) return { result: { duplicate: true, record: current } };
    if (input.lease && current.lease && Date.parse(current.lease.until) > input.now) {
      const record: LineageRecord = { ...current, skipped: { ...current.skipped, [key]: (current.skipped?.[key] ?? 0) + 1 }, updatedAt: now };
      return { result: { duplicate: true, busy: true, record, leaseRemainingMs: Date.parse(current.lease.until) - input.now }, write: record };
    }
  }
  let base: LineageRecord = current ?? {
    id: input.id,
    state: 'running',
    tier: input.tier,
    attempts: {},
    history: [],
    createdAt: now,
    updatedAt: now,
  };
  if (base.lease && Date.parse(base.lease.until) <= input.now) base = crashed(base, now);
  const attempt = Math.max(input.headerAttempt - (base.skipped?.[key] ?? 0), (base.attempts[key] ?? 0) + 1, 1);
  const entry: AttemptEntry = {
    tier: input.tier,
    attempt,
    queue: input.queue,
    taskName: input.taskName,
    outcome: 'running',
    startedAt: now,
  };
  const record: LineageRecord = {
    ...base,
    state: 'running',
    tier: input.tier, // >= base.tier here: a higher tier means the lineage moved on
    queue: input.queue,
    attempts: { ...base.attempts, [key]: attempt },
    maxAttempts: input.maxAttempts,
    history: trimHistory([...base.history, entry], rules.maxHistory),
    updatedAt: now,
  };
  if (input.type !== undefined) record.type = input.type;
  if (input.notify !== undefined) record.notify = input.notify;
  if (input.dataRef !== undefined) record.dataRef = input.dataRef;
  if (current === undefined && input.source !== undefined) record.source = input.source;
  if (current === undefined && input.replayOf !== undefined) record.replayOf = input.replayOf;
  if (input.job !== undefined) record.job = input.job;
  if (input.labels !== undefined) record.labels = input.labels;
  if (input.lease) record.lease = { holder: input.lease.holder, tier: input.tier, attempt, until: iso(input.now + input.lease.ms) };
  return { result: { duplicate: false, attempt, record }, write: record };
}

/**
 * An expired lease. If its attempt began and never finished, that is a crash
 * of the lineage; if the attempt was recorded (a lease kept past a timeout),
 * the lease just lapses.
 */
function crashed(record: LineageRecord, now: string): LineageRecord {
  const lease = record.lease!;
  const entry = record.history.find((h) => h.tier === lease.tier && h.attempt === lease.attempt);
  if (entry && entry.outcome !== 'running') {
    const { lease: _lapsed, ...rest } = record;
    return rest;
  }
  const history = record.history.map((h) =>
    h.tier === lease.tier && h.attempt === lease.attempt && h.outcome === 'running'
      ? {
          ...h,
          outcome: 'crashed' as const,
          finishedAt: now,
          error: { code: 'JobCrashed', message: 'the attempt began and never finished (its worker died)', permanent: false },
        }
      : h,
  );
  const { lease: _gone, ...rest } = record;
  return { ...rest, history, crashes: (record.crashes ?? 0) + 1 };
}

/**
 * Whether a finish writes its owed effects: only when it moves the lineage to
 * the outcome's state (a lineage someone else ended owes nothing more here).
 * A cancelled job's finish on the lineage its cancel ended owes the
 * `cancelled` notification.
 */
export function finishOwes(current: LineageRecord, input: FinishInput): boolean {
  if (input.tier < current.tier) return false;
  if (input.outcome === 'cancelled') return current.state === 'cancelled' || !isEnded(current.state);
  return !isEnded(current.state);
}

/**
 * Record how attempt (tier, attempt) ended. The state follows the outcome,
 * except that an ended lineage never changes state and a lower tier's late
 * finish cannot move a lineage that went on to a higher tier.
 */
export function applyFinish(current: LineageRecord, input: FinishInput, rules: LineageRules): LineageRecord {
  const now = iso(input.now);
  const outcome: AttemptOutcome = input.outcome;
  const history = [...current.history];
  let index = -1;
  for (let i = history.length - 1; i >= 0; i--) {
    if (history[i]!.tier === input.tier && history[i]!.attempt === input.attempt) {
      index = i;
      break;
    }
  }
  // The entry can be missing when the history was trimmed; keep the outcome anyway.
  const entry: AttemptEntry =
    index >= 0 ? { ...history[index]! } : { tier: input.tier, attempt: input.attempt, queue: current.queue ?? '', taskName: '', outcome, startedAt: now };
  entry.outcome = outcome;
  entry.finishedAt = now;
  if (input.error !== undefined) entry.error = input.error;
  if (index >= 0) history[index] = entry;
  else history.push(entry);

  const releases =
    current.lease !== undefined &&
    !input.keepLease &&
    (input.holder === undefined ? current.lease.tier === input.tier && current.lease.attempt === input.attempt : current.lease.holder === input.holder);
  // The lease is left out by a rest copy, not `delete`: deleting a key turns
  // the object into a slow dictionary, on every finish (PROFILE.md round 3).
  let record: LineageRecord;
  if (releases) {
    const { lease: _released, ...rest } = current;
    record = { ...rest, history: trimHistory(history, rules.maxHistory), updatedAt: now };
  } else record = { ...current, history: trimHistory(history, rules.maxHistory), updatedAt: now };
  const key = String(input.tier);
  if (input.outcome === 'throttled') {
    // A refused push is no attempt: give the count back and discount the header.
    if (current.attempts[key] === input.attempt) record.attempts = { ...current.attempts, [key]: input.attempt - 1 };
    record.skipped = { ...current.skipped, [key]: (current.skipped?.[key] ?? 0) + 1 };
  }
  const applies = !isEnded(current.state) && input.tier >= current.tier;
  if (applies) {
    record.state = STATE_OF[input.outcome];
    if (isEnded(record.state)) {
      record.finishedAt = now;
      record.expiresAt = iso(input.now + rules.ttlMs);
    }
    // A success supersedes the error of an earlier attempt.
    if (input.outcome === 'succeeded' && input.error === undefined && record.error !== undefined) delete record.error;
  }
  if (input.tier >= current.tier) {
    if (input.error !== undefined) record.error = input.error;
    if (input.result !== undefined) record.result = input.result;
    if (input.outputRef !== undefined) record.outputRef = input.outputRef;
  }
  return record;
}

/** Cancel unless already ended (then `current` is returned as is). */
export function applyCancel(current: LineageRecord, nowMs: number, rules: LineageRules): LineageRecord {
  if (isEnded(current.state)) return current;
  const now = iso(nowMs);
  return { ...current, state: 'cancelled', finishedAt: now, expiresAt: iso(nowMs + rules.ttlMs), updatedAt: now };
}
