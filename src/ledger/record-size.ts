// What a stored record costs the memory ledger, for its LEDGER_MAX_BYTES
// bound: an estimate of the V8 heap the record's values hold (object and array
// headers, one slot per property or element, string bytes), erring high:
// strings shared between fields are counted once per field. A key whose
// value is undefined counts nothing: the ledger stores records without them.
//
// The same walk gives an upper bound of the record's JSON size in UTF-8
// (every character as a 6-byte escape), so the ledger can tell a record is
// far below MAX_RECORD_BYTES without serialising it (limits.ts boundRecord).

const OBJECT = 24;
const SLOT = 8;
const STRING = 16;
/** The longest JSON text of a number: `-1.2345678901234567e-308`. */
const NUMBER_JSON = 24;

/** Upper bound of the JSON bytes of the value last measured (Infinity: not bounded here). */
let json = 0;

/** Approximate heap bytes of a JSON-like value (other objects: their JSON length, or a typed array's bytes). */
export function approxBytes(value: unknown): number {
  json = 0;
  return walk(value);
}

/** Heap bytes as approxBytes, and an upper bound of the UTF-8 bytes of JSON.stringify(value). */
export function measureRecord(value: unknown): { heap: number; jsonAtMost: number } {
  json = 0;
  const heap = walk(value);
  return { heap, jsonAtMost: json };
}

function walk(value: unknown): number {
  switch (typeof value) {
    case 'string':
      json += 2 + 6 * value.length;
      return STRING + value.length;
    case 'number':
      json += NUMBER_JSON;
      return SLOT;
    case 'boolean':
      json += 5;
      return 0;
    case 'undefined':
      json += 4; // `null` in an array; keys with undefined values are skipped
      return 0;
    case 'object': {
      if (value === null) {
        json += 4;
        return 0;
      }
      if (Array.isArray(value)) {
        json += 2 + value.length;
        let n = OBJECT + value.length * SLOT;
        for (const v of value) n += walk(v);
        return n;
      }
      if (ArrayBuffer.isView(value)) {
        json = Infinity; // not a record's value: measured by serialising
        return OBJECT + value.byteLength;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        json = Infinity;
        try {
          return OBJECT + (JSON.stringify(value)?.length ?? 0);
        } catch {
          return OBJECT;
        }
      }
      json += 2;
      let n = OBJECT;
      for (const key of Object.keys(value)) {
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined) continue;
        json += 4 + 6 * key.length;
        n += SLOT + walk(v);
      }
      return n;
    }
    default:
      // bigint (JSON.stringify throws), functions, symbols (toJSON and the like): not bounded here.
      json = Infinity;
      return typeof value === 'bigint' ? SLOT : 0;
  }
}
