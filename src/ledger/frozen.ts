// Immutable values for the memory ledger, so it can hand out and keep the
// records it stores without cloning them (structuredClone twice per delivery
// was ~14% of the push path's CPU).
//
// What comes in from a caller is copied once (a caller may go on mutating its
// own objects: a job mutates the `data` that is also the replay source) and
// frozen; what goes out is the stored, frozen object itself, so a caller that
// tries to change it gets a TypeError (ES modules are strict) instead of
// changing the store. Records built by the pure rules (lineage-rules.ts)
// share the unchanged, already frozen parts of the previous record; freezing
// the result only walks the new parts.

/** A plain object or array (what JSON gives); anything else is copied with structuredClone. */
function isPlain(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A deep, frozen copy of caller-owned data. Plain objects and arrays are
 * copied by hand (much cheaper than structuredClone for the small values a
 * ledger sees); other objects (Date, Map, typed arrays) are structuredClone'd
 * as before, and frozen where the engine allows it. Already frozen values are
 * shared, not copied: they cannot change.
 */
export function frozenCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (!isPlain(value)) {
    const copy = structuredClone(value);
    try {
      Object.freeze(copy);
    } catch {
      // A typed array with elements cannot be frozen; it is a private copy all the same.
    }
    return copy;
  }
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy)) as T;
  const out: Record<string, unknown> = Object.getPrototypeOf(value) === null ? Object.create(null) : {};
  for (const key of Object.keys(value)) out[key] = frozenCopy((value as Record<string, unknown>)[key]);
  return Object.freeze(out) as T;
}

/**
 * Freeze, in place, a value the ledger built itself (a record from the rules).
 * Stops at frozen parts: those were frozen deeply when they were stored or
 * copied in, so only the new parts of a record are walked.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  try {
    Object.freeze(value);
  } catch {
    return value; // a typed array with elements
  }
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}
