// What a stored record costs the memory ledger, for its LEDGER_MAX_BYTES
// bound: an estimate of the V8 heap the record's values hold (object and array
// headers, one slot per property or element, string bytes), erring high:
// strings shared between fields are counted once per field.

const OBJECT = 24;
const SLOT = 8;
const STRING = 16;

/** Approximate heap bytes of a JSON-like value (other objects: their JSON length, or a typed array's bytes). */
export function approxBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return STRING + value.length;
    case 'number':
    case 'bigint':
      return SLOT;
    case 'object': {
      if (value === null) return 0;
      if (Array.isArray(value)) {
        let n = OBJECT + value.length * SLOT;
        for (const v of value) n += approxBytes(v);
        return n;
      }
      if (ArrayBuffer.isView(value)) return OBJECT + value.byteLength;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        try {
          return OBJECT + (JSON.stringify(value)?.length ?? 0);
        } catch {
          return OBJECT;
        }
      }
      let n = OBJECT;
      for (const key of Object.keys(value)) n += SLOT + approxBytes((value as Record<string, unknown>)[key]);
      return n;
    }
    default:
      return 0;
  }
}
