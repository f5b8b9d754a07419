// In-process attempt ledger: for dev mode, tests and single-instance
// deployments that accept losing counts on restart. Each operation reads and
// writes its record with no await in between, which makes it atomic per key
// on Node's single thread. What callers pass in is copied once and frozen,
// and stored records are frozen: they are returned as they are, without a
// clone, and a caller cannot change the store through them (frozen.ts).

import type {
  AttemptLedger,
  BeginInput,
  BeginResult,
  Clock,
  DeadLetter,
  FinishInput,
  JobRecord,
  JobTaskEndInput,
  LineageRecord,
  ListPage,
  ListQuery,
} from '../interfaces.ts';
import { systemClock } from '../interfaces.ts';
import { boundRecord } from '../limits.ts';
import { createRecordCompactor } from './compact-record.ts';
import { byCreatedThenKey } from './dead-letter-order.ts';
import { deepFreeze, frozenCopy } from './frozen.ts';
import { applyJobTaskEnd } from './job-rules.ts';
import { LineageNotFound } from './lineage-not-found.ts';
import { applyBegin, applyCancel, applyFinish, DEFAULT_MAX_HISTORY, DEFAULT_TTL_MS, finishOwes, isExpired, type LineageRules } from './lineage-rules.ts';
import { matchesQuery, newestFirst } from './list-order.ts';
import { cancelledBeforeRun } from './never-run.ts';
import { approxBytes, measureRecord } from './record-size.ts';

/** Records held at most by default (MemoryLedgerOptions.maxRecords). */
export const DEFAULT_MAX_RECORDS = 100_000;
/** Approximate bytes of records held at most by default (LEDGER_MAX_BYTES). */
export const DEFAULT_MAX_BYTES = 128 * 1024 * 1024;

export interface MemoryLedgerOptions {
  /** How long finished records are kept (default 24 h). */
  ttlMs?: number;
  /** Upper bound on records held (default 100 000). */
  maxRecords?: number;
  /**
   * Upper bound on the approximate heap bytes of the records held (default
   * 128 MiB, LEDGER_MAX_BYTES; record-size.ts): over it the oldest finished
   * lineages with nothing owed are evicted. Running lineages and lineages with
   * owed effects are never evicted for it.
   */
  maxBytes?: number;
  /** Upper bound on dead letters held (default: maxRecords). */
  maxDeadLetters?: number;
  maxHistory?: number;
  /** Expired records are swept at most this often (default 60 s), on the next operation. */
  pruneIntervalMs?: number;
  clock?: Clock;
  /** Told (once) when a finished lineage is evicted before its TTL: its redelivery would run the job again. */
  logger?: { warn(obj: object, msg: string): void };
}

/** Memory ledger plus a size probe for tests and metrics. */
export interface MemoryLedger extends AttemptLedger {
  /** Records currently held (expired ones not yet swept included). */
  size(): number;
  /** Approximate heap bytes of the records held (what maxBytes bounds). */
  bytes(): number;
}

export function createMemoryLedger(options: MemoryLedgerOptions = {}): MemoryLedger {
  const rules: LineageRules = {
    ttlMs: options.ttlMs ?? DEFAULT_TTL_MS,
    maxHistory: options.maxHistory ?? DEFAULT_MAX_HISTORY,
  };
  const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let warnedEviction = false;
  let warnedRunningEviction = false;
  let warnedOverBytes = false;
  const maxDeadLetters = options.maxDeadLetters ?? maxRecords;
  const pruneIntervalMs = options.pruneIntervalMs ?? 60_000;
  const clock = options.clock ?? systemClock;
  const records = new Map<string, LineageRecord>();
  const compactor = createRecordCompactor();
  /** The sum of approxBytes of the records held (a finished record's share is computed again when it goes). */
  let totalBytes = 0;
  /** approxBytes of each stored record that has not finished (running, retrying, throttled). */
  const unfinishedBytes = new Map<string, number>();
  const deadLetters = new Map<string, DeadLetter>();
  // Jobs are bounded like records; a completed job expires with its tasks.
  const jobs = new Map<string, JobRecord>();
  let lastPrune = clock.now();
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error('memory ledger is closed');
  }

  /**
   * Store a record the rules built: bounded (limits.ts), frozen (frozen.ts),
   * compacted unless it is a running attempt's record, and counted. One walk
   * gives its heap share and an upper bound of its JSON size, so a small
   * record is neither serialised to check MAX_RECORD_BYTES nor walked again
   * after compaction (which keeps every value; it only drops undefined keys,
   * which count nothing). The share of an unfinished record is kept in
   * `unfinishedBytes`, so the finish that replaces it does not walk it again;
   * a finished record keeps no number (its share is walked when it goes).
   *
   * A begin's running record is not compacted: the finish replaces it within
   * the job's run (or its lease's expiry), and compacting it cost as much as
   * compacting the finished one (PROFILE.md round 3). It is frozen all the same.
   */
  function put(record: LineageRecord, bound = true, compact = true): LineageRecord {
    const { heap, jsonAtMost } = measureRecord(record);
    const bounded = bound ? boundRecord(record, jsonAtMost) : record;
    const stored = compact ? compactor.compact(bounded) : deepFreeze(bounded);
    const id = stored.id;
    const share = bounded === record ? heap : approxBytes(stored);
    const old = records.get(id);
    totalBytes += share - (old === undefined ? 0 : (unfinishedBytes.get(id) ?? approxBytes(old)));
    if (stored.finishedAt === undefined) unfinishedBytes.set(id, share);
    else unfinishedBytes.delete(id);
    records.set(id, stored);
    return stored;
  }

  function drop(id: string): void {
    const old = records.get(id);
    if (old === undefined) return;
    totalBytes -= unfinishedBytes.get(id) ?? approxBytes(old);
    unfinishedBytes.delete(id);
    records.delete(id);
  }

  /** Drop expired records; no timer, so nothing keeps the process alive. */
  function pruneExpired(now: number): void {
    lastPrune = now;
    for (const [id, record] of records) if (isExpired(record, now)) drop(id);
  }

  function maybePrune(now: number): void {
    if (now - lastPrune >= pruneIntervalMs) pruneExpired(now);
  }

  /**
   * Over a bound: drop expired records, then the oldest finished ones with
   * nothing owed, then (record count only, last resort, so memory stays
   * bounded) the least recently updated. Evicts down to 90% of the bound
   * exceeded so the O(n) scan runs once per many inserts, not per insert.
   * The byte bound never evicts a running lineage or one that owes effects:
   * if only those are left, it is exceeded (and that is logged once).
   */
  function enforceBound(now: number): void {
    if (records.size <= maxRecords && totalBytes <= maxBytes) return;
    pruneExpired(now);
    const targetCount = records.size > maxRecords ? Math.floor(maxRecords * 0.9) : maxRecords;
    const targetBytes = totalBytes > maxBytes ? Math.floor(maxBytes * 0.9) : maxBytes;
    const within = () => records.size <= targetCount && totalBytes <= targetBytes;
    if (within()) return;
    const owing = new Set<string>();
    for (const letter of deadLetters.values()) owing.add(letter.lineageId);
    const finished = [...records.values()]
      .filter((r) => r.finishedAt !== undefined && !owing.has(r.id))
      .sort((a, b) => a.finishedAt!.localeCompare(b.finishedAt!));
    for (const r of finished) {
      if (within()) return;
      drop(r.id);
      if (!warnedEviction) {
        warnedEviction = true;
        options.logger?.warn(
          { maxRecords, maxBytes, ttlMs: rules.ttlMs, evicted: r.id },
          'memory ledger full: finished lineages are evicted before LEDGER_TTL; a redelivery of one runs its job again (raise LEDGER_MAX_BYTES or use LEDGER=firestore)',
        );
      }
    }
    if (totalBytes > maxBytes && !warnedOverBytes) {
      warnedOverBytes = true;
      options.logger?.warn(
        { maxBytes, bytes: totalBytes, records: records.size },
        'memory ledger over LEDGER_MAX_BYTES with only running lineages or lineages that owe effects left: none is evicted for it',
      );
    }
    if (records.size <= targetCount) return;
    const rest = [...records.values()].sort((a, b) => a.updatedAt.localeCompare(b.updatedAt));
    for (const r of rest) {
      if (records.size <= targetCount) return;
      drop(r.id);
      if (!warnedRunningEviction) {
        warnedRunningEviction = true;
        options.logger?.warn(
          { maxRecords, evicted: r.id },
          'memory ledger full of unfinished lineages: their attempt counts are dropped (use LEDGER=firestore)',
        );
      }
    }
  }

  function live(id: string, now: number): LineageRecord | undefined {
    const record = records.get(id);
    if (record === undefined) return undefined;
    if (isExpired(record, now)) {
      drop(id);
      return undefined;
    }
    return record;
  }

  function storeLetter(letter: DeadLetter): void {
    deadLetters.delete(letter.key); // re-insert: Map order stays oldest-first
    deadLetters.set(letter.key, frozenCopy(letter));
    // Oldest go first when an outage floods the store; the log still has them.
    while (deadLetters.size > maxDeadLetters) deadLetters.delete(deadLetters.keys().next().value!);
  }

  const leases = new Map<string, { holder: string; until: number }>();

  return {
    async begin(input: BeginInput): Promise<BeginResult> {
      assertOpen();
      maybePrune(clock.now());
      const current = live(input.id, input.now);
      // The rules build a new record from `current` (frozen) and the frozen
      // copy of the input; freezing it walks only its new parts.
      const { result, write } = applyBegin(current, frozenCopy(input), rules);
      if (!write) return result;
      const record = put(write, true, result.duplicate);
      if (current === undefined) enforceBound(input.now);
      return { ...result, record };
    },

    async finish(input: FinishInput): Promise<LineageRecord> {
      assertOpen();
      maybePrune(clock.now());
      const current = live(input.id, input.now);
      if (current === undefined) throw new LineageNotFound(input.id);
      const { owed, ...rest } = input;
      const written = applyFinish(current, frozenCopy(rest), rules);
      // One synchronous step: the state and what it owes land together.
      if (owed && finishOwes(current, input)) for (const letter of owed) storeLetter(letter);
      return put(written);
    },

    async get(id: string): Promise<LineageRecord | undefined> {
      assertOpen();
      const record = live(id, clock.now());
      return record;
    },

    async list(query: ListQuery): Promise<ListPage> {
      assertOpen();
      const now = clock.now();
      // A scan: the memory ledger is bounded (maxRecords) and meant for one instance.
      const hits = [...records.values()].filter((r) => !isExpired(r, now) && matchesQuery(r, query)).sort(newestFirst);
      const page = hits.slice(0, query.pageSize);
      const last = page[page.length - 1];
      return {
        records: page,
        ...(hits.length > page.length && last ? { next: { createdAt: last.createdAt, id: last.id } } : {}),
      };
    },

    async setStatusText(id: string, text: string, now: number): Promise<void> {
      assertOpen();
      const current = live(id, now);
      if (current !== undefined) put({ ...current, statusText: String(text) }, false);
    },

    async cancel(id: string, now: number, neverRun?: { queue: string; type?: string }): Promise<LineageRecord | undefined> {
      assertOpen();
      const current = live(id, now);
      if (current === undefined) {
        if (!neverRun) return undefined;
        const record = put(cancelledBeforeRun(id, now, rules.ttlMs, frozenCopy(neverRun)), false);
        enforceBound(now);
        return record;
      }
      return put(applyCancel(current, now, rules));
    },

    async jobTaskEnded(input: JobTaskEndInput): Promise<{ record: JobRecord; completed: boolean }> {
      assertOpen();
      let current = jobs.get(input.job);
      if (current?.expiresAt !== undefined && Date.parse(current.expiresAt) <= input.now) current = undefined;
      const result = applyJobTaskEnd(current, frozenCopy(input), rules.ttlMs);
      const record = deepFreeze(result.record);
      if (result.write) {
        jobs.delete(input.job); // re-insert: Map order stays least-recently-updated first
        jobs.set(input.job, record);
        while (jobs.size > maxRecords) jobs.delete(jobs.keys().next().value!);
      }
      return { record, completed: result.completed };
    },

    async getJob(id: string): Promise<JobRecord | undefined> {
      assertOpen();
      const job = jobs.get(id);
      if (job === undefined || (job.expiresAt !== undefined && Date.parse(job.expiresAt) <= clock.now())) return undefined;
      return job;
    },

    async putDeadLetter(letter: DeadLetter): Promise<void> {
      assertOpen();
      storeLetter(letter);
    },

    async listDeadLetters(lineageId?: string): Promise<DeadLetter[]> {
      assertOpen();
      const letters = [...deadLetters.values()].filter((l) => lineageId === undefined || l.lineageId === lineageId);
      return letters.sort(byCreatedThenKey);
    },

    async removeDeadLetter(key: string): Promise<void> {
      assertOpen();
      deadLetters.delete(key);
    },

    async tryLease(name: string, holder: string, ms: number, now: number): Promise<boolean> {
      assertOpen();
      const held = leases.get(name);
      if (held && held.holder !== holder && held.until > now) return false;
      leases.set(name, { holder, until: now + ms });
      return true;
    },

    async ping(): Promise<void> {
      assertOpen();
    },

    async close(): Promise<void> {
      closed = true;
      records.clear();
      unfinishedBytes.clear();
      totalBytes = 0;
      deadLetters.clear();
      jobs.clear();
    },

    size: () => records.size,
    bytes: () => totalBytes,
  };
}
