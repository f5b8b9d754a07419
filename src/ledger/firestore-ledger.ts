// Firestore attempt ledger: shared by every instance of the service, so the
// attempt count survives restarts and scale-out. Every change of a lineage is
// atomic across instances. begin and finish are optimistic: one write with a
// precondition on the document's update time (or on its absence), computed
// from what this instance last read or wrote of it; a first delivery of a new
// lineage writes without reading, and a finish after this instance's begin is
// one write with its owed dead letters in the same batch. A precondition that
// fails (another instance changed the lineage) falls back to a read-write
// transaction, as cancel and the rest always use: Firestore locks the document
// and retries on contention.
//
// Collections: `${prefix}-lineages` (one document per lineage id),
// `${prefix}-dead-letters` (one per dead-letter key) and `${prefix}-jobs` (one
// per job of many tasks). Finished lineages and completed jobs carry
// `expiresAt` as a Timestamp so a Firestore TTL policy deletes them:
//   gcloud firestore fields ttls update expiresAt \
//     --collection-group=executor-lineages --enable-ttl
//   (and the same for executor-jobs: a completed job record expires likewise)
// TTL deletion runs up to a day late, so reads also treat an expired record as gone.

import { createHash } from 'node:crypto';
import { type DocumentData, FieldPath, FieldValue, Firestore, Timestamp } from '@google-cloud/firestore';
import { type CredentialsProbe, emulatorClientOptions } from '../auth/google-credentials.ts';
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
import { byCreatedThenKey } from './dead-letter-order.ts';
import { applyJobTaskEnd } from './job-rules.ts';
import { LineageNotFound } from './lineage-not-found.ts';
import { applyBegin, applyCancel, applyFinish, DEFAULT_MAX_HISTORY, DEFAULT_TTL_MS, finishOwes, isExpired, type LineageRules } from './lineage-rules.ts';
import { cancelledBeforeRun } from './never-run.ts';

export interface FirestoreLedgerOptions {
  /** A client to use; closing the ledger then leaves it open (its owner closes it). */
  firestore?: Firestore;
  /** Project for the client the ledger creates (FIRESTORE_EMULATOR_HOST is honoured by the client). */
  projectId?: string;
  /** Collection name prefix (default 'executor'). */
  collectionPrefix?: string;
  ttlMs?: number;
  maxHistory?: number;
  clock?: Clock;
  /** Tries per transaction under contention (default 50; the client's own default of 5 is too few for a burst of duplicate deliveries). */
  transactionAttempts?: number;
  /** ping() fails after this long (default 5 s): an unreachable backend otherwise retries for minutes. */
  pingTimeoutMs?: number;
  /** Asked before the client is used (not with an emulator): no credentials = a clear error, not an unhandled rejection. */
  credentials?: CredentialsProbe;
}

/** A begin whose write took longer than this renews the lease it wrote (one more write). */
const LEASE_RENEW_AFTER_MS = 1000;

/** Lineages whose document this instance remembers for optimistic writes (about 1 KiB each). */
const MAX_KNOWN = 10_000;

export function createFirestoreLedger(options: FirestoreLedgerOptions = {}): AttemptLedger {
  const owned = options.firestore === undefined;
  const pingTimeoutMs = options.pingTimeoutMs ?? 5000;
  const db =
    options.firestore ??
    new Firestore({
      ...(options.projectId !== undefined ? { projectId: options.projectId } : {}),
      ignoreUndefinedProperties: true,
      ...emulatorClientOptions('FIRESTORE_EMULATOR_HOST'),
      clientConfig: pingCallConfig(pingTimeoutMs),
    });
  const prefix = options.collectionPrefix ?? 'executor';
  const lineages = db.collection(`${prefix}-lineages`);
  const letters = db.collection(`${prefix}-dead-letters`);
  const jobs = db.collection(`${prefix}-jobs`);
  const rules: LineageRules = {
    ttlMs: options.ttlMs ?? DEFAULT_TTL_MS,
    maxHistory: options.maxHistory ?? DEFAULT_MAX_HISTORY,
  };
  const clock = options.clock ?? systemClock;
  const txOptions = { maxAttempts: options.transactionAttempts ?? 50 };

  const leases = db.collection(`${prefix}-leases`);
  const lineageRef = (id: string) => lineages.doc(lineageDocId(id));
  // With FIRESTORE_EMULATOR_HOST the client talks plain HTTP/2 to the emulator and needs no credentials.
  const emulated = (db as unknown as { _settings?: { ssl?: boolean } })._settings?.ssl === false;
  const ready = () => (emulated ? Promise.resolve() : (options.credentials?.check() ?? Promise.resolve()));

  type Change<T> = (current: LineageRecord | undefined) => { write?: LineageRecord; letters?: DeadLetter[]; value: T };

  /**
   * What this instance last read or wrote of a lineage document (data undefined =
   * it did not exist) and its update time: the precondition of the next
   * optimistic write. Bounded; an entry is only a guess, the precondition checks it.
   */
  const known = new Map<string, { data: DocumentData | undefined; updateTime?: Timestamp }>();
  const remember = (id: string, data: DocumentData | undefined, updateTime?: Timestamp) => {
    known.delete(id);
    known.set(id, { data, ...(updateTime ? { updateTime } : {}) });
    if (known.size > MAX_KNOWN) known.delete(known.keys().next().value!);
  };

  /** Read-modify-write one lineage atomically in a transaction, with the dead letters (outbox) it owes. */
  async function update<T>(id: string, now: number, fn: Change<T>): Promise<T> {
    await ready();
    known.delete(id);
    const ref = lineageRef(id);
    return db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const stored = snap.exists ? fromDoc(snap.data()!) : undefined;
      const current = stored !== undefined && !isExpired(stored, now) ? stored : undefined;
      const { write, letters: owed, value } = fn(current);
      if (write !== undefined) tx.set(ref, toDoc(write));
      for (const letter of owed ?? []) tx.set(letters.doc(deadLetterDocId(letter.key)), letterDoc(letter));
      return value;
    }, txOptions);
  }

  /**
   * The same change as one batched write, assuming the document is still what
   * `known` says: created only if absent, or updated only if its update time is
   * unchanged. `undefined` when that assumption failed (nothing was written).
   * `fresh`: `known` was read by this very call, so an answer that writes
   * nothing is as current as a transaction's read; otherwise only a write,
   * checked by its precondition, is trusted.
   */
  async function tryOptimistic<T>(id: string, now: number, fn: Change<T>, fresh: boolean): Promise<{ value: T } | undefined> {
    const k = known.get(id);
    if (k === undefined) return undefined;
    const stored = k.data !== undefined ? fromDoc({ ...k.data }) : undefined;
    const current = stored !== undefined && !isExpired(stored, now) ? stored : undefined;
    let decided: ReturnType<Change<T>>;
    try {
      decided = fn(current);
    } catch (err) {
      if (fresh) throw err;
      return undefined; // e.g. LineageNotFound from a guess: the transaction decides
    }
    const { write, letters: owed, value } = decided;
    // Letters without a write would need the read checked too: the transaction does that.
    if (write === undefined) return fresh && !owed?.length ? { value } : undefined;
    const ref = lineageRef(id);
    const doc = toDoc(write);
    const batch = db.batch();
    if (k.data === undefined) batch.create(ref, doc);
    else {
      // An update replaces the fields it names; the ones the new record lacks are deleted.
      const fields: DocumentData = { ...doc };
      for (const key of Object.keys(k.data)) if (!(key in doc)) fields[key] = FieldValue.delete();
      batch.update(ref, fields, { lastUpdateTime: k.updateTime! });
    }
    for (const letter of owed ?? []) batch.set(letters.doc(deadLetterDocId(letter.key)), letterDoc(letter));
    try {
      const [result] = await batch.commit();
      remember(id, doc, result!.writeTime);
      return { value };
    } catch (err) {
      known.delete(id);
      const code = (err as { code?: number }).code;
      // ALREADY_EXISTS, NOT_FOUND, FAILED_PRECONDITION: someone else changed it first.
      if (code === 6 || code === 5 || code === 9) return undefined;
      throw err;
    }
  }

  /** begin/finish: one optimistic write when this instance knows the document, else read it and try that; contended = a transaction. */
  async function change<T>(id: string, now: number, fn: Change<T>, read: boolean): Promise<T> {
    await ready();
    const first = await tryOptimistic(id, now, fn, false);
    if (first) return first.value;
    if (read) {
      const snap = await lineageRef(id).get();
      remember(id, snap.exists ? snap.data() : undefined, snap.updateTime);
      const second = await tryOptimistic(id, now, fn, true);
      if (second) return second.value;
    }
    return update(id, now, fn);
  }

  return {
    begin(input: BeginInput): Promise<BeginResult> {
      // A begin can wait long on Firestore (an outage, contention, a dead
      // client's lock: 60 s). Its lease and start are counted from the try that
      // commits, not from the call: a lease stamped at the call could be born
      // expired, and a second delivery would run the job beside this one.
      const calledAt = clock.now();
      let decidedAt = calledAt;
      // A first dispatch of tier 0 is almost always a new lineage: try creating it without a read.
      if (input.tier === 0 && input.headerAttempt <= 1 && !known.has(input.id)) remember(input.id, undefined);
      return change<BeginResult>(
        input.id,
        input.now,
        (current) => {
          decidedAt = clock.now();
          const now = input.now + Math.max(0, decidedAt - calledAt);
          const { result, write } = applyBegin(current, { ...input, now }, rules);
          return write ? { write, value: result } : { value: result };
        },
        true,
      ).then(async (result): Promise<BeginResult> => {
        // A conditioned write can itself wait (behind another transaction's lock):
        // when it did, the lease is renewed from now, still ours only.
        const lease = !result.duplicate ? result.record.lease : undefined;
        if (lease && input.lease && clock.now() - decidedAt > LEASE_RENEW_AFTER_MS) {
          const renewed = await update(input.id, input.now, (current) => {
            if (current?.lease?.holder !== lease.holder) return { value: undefined };
            const until = new Date(input.now + Math.max(0, clock.now() - calledAt) + input.lease!.ms).toISOString();
            const write: LineageRecord = { ...current, lease: { ...current.lease, until } };
            return { write, value: write };
          });
          if (renewed) return { ...result, record: clonePlain(renewed) };
        }
        return { ...result, record: clonePlain(result.record) };
      });
    },

    finish(input: FinishInput): Promise<LineageRecord> {
      const { owed, ...rest } = input;
      // Like begin: the end is recorded when it commits, not when it was asked for.
      const calledAt = clock.now();
      return change(
        input.id,
        input.now,
        (current) => {
          if (current === undefined) throw new LineageNotFound(input.id);
          const record = applyFinish(current, { ...rest, now: input.now + Math.max(0, clock.now() - calledAt) }, rules);
          return { write: record, value: record, ...(owed && finishOwes(current, input) ? { letters: owed } : {}) };
        },
        false,
      ).then(clonePlain);
    },

    async tryLease(name: string, holder: string, ms: number, now: number): Promise<boolean> {
      await ready();
      const ref = leases.doc(deadLetterDocId(name));
      return db.runTransaction(async (tx) => {
        const snap = await tx.get(ref);
        const held = snap.exists ? (snap.data() as { holder: string; until: number }) : undefined;
        if (held && held.holder !== holder && held.until > now) return false;
        tx.set(ref, { holder, until: now + ms });
        return true;
      }, txOptions);
    },

    async get(id: string): Promise<LineageRecord | undefined> {
      await ready();
      const snap = await lineageRef(id).get();
      if (!snap.exists) return undefined;
      const record = fromDoc(snap.data()!);
      return isExpired(record, clock.now()) ? undefined : record;
    },

    async list(query: ListQuery): Promise<ListPage> {
      // Served by the composite indexes in firestore.indexes.json (one per
      // equality filter, createdAt descending); Firestore merges them when
      // several filters are combined.
      let q = lineages.orderBy('createdAt', 'desc').orderBy(FieldPath.documentId(), 'desc');
      if (query.state !== undefined) q = q.where('state', '==', query.state);
      if (query.type !== undefined) q = q.where('type', '==', query.type);
      if (query.queue !== undefined) q = q.where('queue', '==', query.queue);
      if (query.since !== undefined) q = q.where('createdAt', '>=', query.since);
      if (query.until !== undefined) q = q.where('createdAt', '<', query.until);
      if (query.after !== undefined) q = q.startAfter(query.after.createdAt, lineageDocId(query.after.id));
      const snap = await q.limit(query.pageSize + 1).get();
      const docs = snap.docs.slice(0, query.pageSize);
      const now = clock.now();
      // Expired records wait for the TTL sweep; leaving them out can make a page short.
      const records = docs.map((d) => fromDoc(d.data())).filter((r) => !isExpired(r, now));
      const last = docs[docs.length - 1];
      if (snap.docs.length <= query.pageSize || last === undefined) return { records };
      return { records, next: { createdAt: last.get('createdAt') as string, id: last.get('id') as string } };
    },

    async setStatusText(id: string, text: string): Promise<void> {
      known.delete(id);
      // A plain field update, no transaction: status text is advisory, and a
      // begin/finish racing it may keep the previous text.
      await lineageRef(id)
        .update({ statusText: text })
        .catch((err: { code?: number }) => {
          if (err.code !== 5) throw err; // NOT_FOUND: unknown lineage, nothing to do
        });
    },

    cancel(id: string, now: number, neverRun?: { queue: string; type?: string }): Promise<LineageRecord | undefined> {
      return update(id, now, (current) => {
        if (current === undefined) {
          if (!neverRun) return { value: undefined };
          const record = cancelledBeforeRun(id, now, rules.ttlMs, neverRun);
          return { write: record, value: record };
        }
        const record = applyCancel(current, now, rules);
        return record === current ? { value: current } : { write: record, value: record };
      }).then((record) => record && clonePlain(record));
    },

    jobTaskEnded(input: JobTaskEndInput): Promise<{ record: JobRecord; completed: boolean }> {
      // One transaction on the job document: two instances ending the last two
      // tasks at once serialise here, so exactly one sees `completed`.
      const ref = jobs.doc(lineageDocId(input.job));
      return db.runTransaction(async (tx) => {
        const snap = await tx.get(ref);
        const stored = snap.exists ? jobFromDoc(snap.data()!) : undefined;
        const current = stored?.expiresAt !== undefined && Date.parse(stored.expiresAt) <= input.now ? undefined : stored;
        const result = applyJobTaskEnd(current, input, rules.ttlMs);
        if (result.write) tx.set(ref, jobToDoc(result.write));
        return { record: result.record, completed: result.completed };
      }, txOptions);
    },

    async getJob(id: string): Promise<JobRecord | undefined> {
      const snap = await jobs.doc(lineageDocId(id)).get();
      if (!snap.exists) return undefined;
      const job = jobFromDoc(snap.data()!);
      return job.expiresAt !== undefined && Date.parse(job.expiresAt) <= clock.now() ? undefined : job;
    },

    async putDeadLetter(letter: DeadLetter): Promise<void> {
      await ready();
      await letters.doc(deadLetterDocId(letter.key)).set(letterDoc(letter));
    },

    async listDeadLetters(lineageId?: string): Promise<DeadLetter[]> {
      await ready();
      // Sorted here: an orderBy next to the where would need a composite index.
      const query = lineageId === undefined ? letters : letters.where('lineageId', '==', lineageId);
      const snap = await query.get();
      return snap.docs.map((d) => JSON.parse(d.get('letterJson') as string) as DeadLetter).sort(byCreatedThenKey);
    },

    async removeDeadLetter(key: string): Promise<void> {
      await ready();
      await letters.doc(deadLetterDocId(key)).delete();
    },

    async ping(): Promise<void> {
      await ready();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`firestore did not answer within ${pingTimeoutMs} ms`)), pingTimeoutMs);
        timer.unref();
      });
      try {
        // A unary call on purpose: a document read is a stream whose retry,
        // if it outlives close(), rejects unhandled inside the client library.
        const read = db.listCollections();
        read.catch(() => {}); // after a timeout it settles later; never unhandled
        await Promise.race([read, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },

    async close(): Promise<void> {
      if (owned) await db.terminate();
    },
  };
}

/**
 * ping() uses ListCollectionIds (unary: a streamed read retried after close()
 * rejects unhandled inside the client library). By default that call retries
 * for about a minute and close() waits for it; for a health probe, one try
 * bounded by the ping timeout is right. Other methods keep their defaults.
 */
function pingCallConfig(timeoutMs: number): Record<string, unknown> {
  return {
    interfaces: {
      'google.firestore.v1.Firestore': {
        retry_codes: { ping_none: [] },
        retry_params: {
          ping: {
            initial_retry_delay_millis: 100,
            retry_delay_multiplier: 1,
            max_retry_delay_millis: 100,
            initial_rpc_timeout_millis: timeoutMs,
            rpc_timeout_multiplier: 1,
            max_rpc_timeout_millis: timeoutMs,
            total_timeout_millis: timeoutMs,
          },
        },
        methods: { ListCollectionIds: { timeout_millis: timeoutMs, retry_codes_name: 'ping_none', retry_params_name: 'ping' } },
      },
    },
  };
}

/**
 * Lineage ids are task-name-like ([A-Za-z0-9_-]) and used as is, so documents
 * are readable in the console; anything else Firestore would refuse as a
 * document id ('/', '.', '__x__', ...) is encoded behind '~', a character no
 * task-name-like id contains, so the two forms cannot collide. An id whose
 * encoding would pass Firestore's 1,500-byte limit is keyed by its SHA-256
 * behind '~~' (base64url never starts with '~'); the record's `id` field keeps
 * the real id either way.
 */
export function lineageDocId(id: string): string {
  if (/^[A-Za-z0-9_-]{1,1000}$/.test(id) && !/^__.*__$/.test(id)) return id;
  const encoded = `~${Buffer.from(id).toString('base64url')}`;
  return encoded.length <= 1400 ? encoded : `~~${createHash('sha256').update(id).digest('hex')}`;
}

/** Dead-letter keys contain '/' (`${lineageId}/${kind}/${tier}`). */
export function deadLetterDocId(key: string): string {
  return Buffer.from(key).toString('base64url');
}

/** Envelopes and events carry arbitrary JSON (nested arrays, deep objects) that Firestore values cannot all hold: kept as text. */
function letterDoc(letter: DeadLetter): DocumentData {
  return { key: letter.key, lineageId: letter.lineageId, kind: letter.kind, createdAt: letter.createdAt, letterJson: JSON.stringify(letter) };
}

/** Firestore document for a record: result as JSON text, expiresAt as a Timestamp (TTL field). */
function toDoc(record: LineageRecord): DocumentData {
  const { result, source, expiresAt, ...rest } = boundRecord(record);
  // JSON round trip drops undefined values, which Firestore refuses.
  const doc: DocumentData = JSON.parse(JSON.stringify(rest));
  if (result !== undefined) doc.resultJson = JSON.stringify(result);
  if (source !== undefined) doc.sourceJson = JSON.stringify(source);
  if (expiresAt !== undefined) doc.expiresAt = Timestamp.fromMillis(Date.parse(expiresAt));
  return doc;
}

function fromDoc(doc: DocumentData): LineageRecord {
  const { resultJson, sourceJson, expiresAt, ...rest } = doc;
  const record = rest as LineageRecord;
  if (typeof resultJson === 'string') record.result = JSON.parse(resultJson);
  if (typeof sourceJson === 'string') record.source = JSON.parse(sourceJson);
  if (expiresAt instanceof Timestamp) record.expiresAt = expiresAt.toDate().toISOString();
  return record;
}

/** Job document: `ended` as JSON text (lineage ids as map keys could hold '.'), expiresAt as the TTL Timestamp. */
function jobToDoc(job: JobRecord): DocumentData {
  const { ended, expiresAt, ...rest } = job;
  const doc: DocumentData = { ...JSON.parse(JSON.stringify(rest)), endedJson: JSON.stringify(ended) };
  if (expiresAt !== undefined) doc.expiresAt = Timestamp.fromMillis(Date.parse(expiresAt));
  return doc;
}

function jobFromDoc(doc: DocumentData): JobRecord {
  const { endedJson, expiresAt, ...rest } = doc;
  const job = { ...rest, ended: typeof endedJson === 'string' ? JSON.parse(endedJson) : {} } as JobRecord;
  if (expiresAt instanceof Timestamp) job.expiresAt = expiresAt.toDate().toISOString();
  return job;
}

/** What the caller gets back is exactly what a later get() returns. */
function clonePlain(record: LineageRecord): LineageRecord {
  return fromDoc(toDoc(record));
}
