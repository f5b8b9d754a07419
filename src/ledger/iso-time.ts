// `new Date(ms).toISOString()` for the ledger's timestamps, without a Date per
// call: the formatting cost ~1 µs and a record write makes two to four of them
// (PROFILE.md round 3). The date part ("2026-11-24T") is kept for the few days
// a delivery stamps (now, its lease's end, its record's expiry: caching only
// the last second missed on every call); the time of day is plain arithmetic
// (JavaScript time has no leap seconds), and the string is made flat by
// String.fromCharCode (a concatenation would keep a cons string, ~28 B more
// per stored date). Anything outside whole milliseconds of years 1970-9999
// goes to Date itself, errors (NaN) included.

const MAX = 253402300800000; // 10000-01-01T00:00:00.000Z
const DAY = 86_400_000;
/** Char codes of "YYYY-MM-DDT" by day number; a handful at a time. */
const days = new Map<number, number[]>();
let lastMs = Number.NaN;
let last = '';

function dateCodes(day: number): number[] {
  let codes = days.get(day);
  if (codes === undefined) {
    if (days.size >= 8) days.clear();
    const text = new Date(day * DAY).toISOString();
    codes = [];
    for (let i = 0; i < 11; i++) codes.push(text.charCodeAt(i));
    days.set(day, codes);
  }
  return codes;
}

export function isoTime(ms: number): string {
  if (ms === lastMs) return last;
  if (!(ms >= 0 && ms < MAX) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY);
  const d = dateCodes(day);
  let t = ms - day * DAY;
  const milli = t % 1000;
  t = (t - milli) / 1000;
  const s = t % 60;
  t = (t - s) / 60;
  const m = t % 60;
  const h = (t - m) / 60;
  last = String.fromCharCode(
    d[0]!,
    d[1]!,
    d[2]!,
    d[3]!,
    d[4]!,
    d[5]!,
    d[6]!,
    d[7]!,
    d[8]!,
    d[9]!,
    d[10]!,
    48 + Math.floor(h / 10),
    48 + (h % 10),
    58, // :
    48 + Math.floor(m / 10),
    48 + (m % 10),
    58,
    48 + Math.floor(s / 10),
    48 + (s % 10),
    46, // .
    48 + Math.floor(milli / 100),
    48 + (Math.floor(milli / 10) % 10),
    48 + (milli % 10),
    90, // Z
  );
  lastMs = ms;
  return last;
}
