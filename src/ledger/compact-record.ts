// Stored records laid out small in V8, for the memory ledger (issue 12: a
// finished lineage should cost under 1 KiB). Three things made a finished
// echo record ~1.7 KB of heap:
// - a record the rules finished with `delete` (the lease, a superseded error)
//   is a dictionary-mode object, twice the size of a fast one;
// - an object built property by property keeps its fields in a separate,
//   over-allocated property array; `{ ...attempts, [tier]: n }` gets a
//   17-slot elements store for one entry;
// - every record repeats the same small values (`{"0":1}`, the queue name).
// So a record and its history entries are rebuilt by an object literal made
// once per set of keys (all fields in-object, no slack), and small repeated
// values are shared, frozen, between records. Bounded: past the limits below
// values are still copied, just not shared.
import type { AttemptEntry, LineageRecord } from '../interfaces.ts';
import { deepFreeze } from './frozen.ts';

const MAX_SHAPES = 256;
const MAX_SHARED = 4096;
/** Strings shared when at most this long (queue names, job types). */
const MAX_SHARED_STRING = 128;

type Build = (from: Record<string, unknown>) => Record<string, unknown>;

export interface RecordCompactor {
  /** The record rebuilt small; parts already frozen are reused as they are. */
  compact(record: LineageRecord): LineageRecord;
}

export function createRecordCompactor(): RecordCompactor {
  const builders = new Map<string, Build>();
  const sharedCounts = new Map<string, Readonly<Record<string, number>>>();
  const sharedStrings = new Map<string, string>();

  /** An object literal with exactly `from`'s defined fields, from a builder made once per key set. */
  function rebuild<T extends object>(from: T): T {
    const source = from as Record<string, unknown>;
    const keys = Object.keys(source).filter((k) => source[k] !== undefined);
    const signature = keys.join('\u0000');
    let build = builders.get(signature);
    if (build === undefined) {
      if (builders.size >= MAX_SHAPES) {
        const out: Record<string, unknown> = {};
        for (const k of keys) out[k] = source[k];
        return out as T;
      }
      // The keys are the record's own field names, quoted by JSON.stringify: no code from input.
      const body = `return {${keys.map((k) => `${JSON.stringify(k)}: o[${JSON.stringify(k)}]`).join(', ')}};`;
      build = new Function('o', body) as Build;
      builders.set(signature, build);
    }
    return build(source) as T;
  }

  /** `{ "0": 1 }`-like counts: one frozen, exactly sized object per distinct value. */
  function counts<T extends Record<string, number> | undefined>(value: T): T {
    if (value === undefined) return value;
    const key = JSON.stringify(value);
    let shared = sharedCounts.get(key);
    if (shared === undefined) {
      // JSON.parse sizes the elements store exactly (a spread reserves 17 slots).
      shared = Object.freeze(JSON.parse(key) as Record<string, number>);
      if (sharedCounts.size < MAX_SHARED) sharedCounts.set(key, shared);
    }
    return shared as T;
  }

  function text<T extends string | undefined>(value: T): T {
    if (value === undefined || value.length > MAX_SHARED_STRING) return value;
    const shared = sharedStrings.get(value);
    if (shared !== undefined) return shared as T;
    if (sharedStrings.size < MAX_SHARED) sharedStrings.set(value, value);
    return value;
  }

  function entry(e: AttemptEntry): AttemptEntry {
    if (Object.isFrozen(e)) return e; // stored before: already compact
    return rebuild({ ...e, queue: text(e.queue) });
  }

  return {
    compact(record) {
      const history = record.history.some((e) => !Object.isFrozen(e)) ? record.history.map(entry) : record.history;
      return deepFreeze(
        rebuild({
          ...record,
          type: text(record.type),
          queue: text(record.queue),
          attempts: counts(record.attempts),
          skipped: counts(record.skipped),
          history,
        }),
      );
    },
  };
}
