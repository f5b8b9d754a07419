// `new Date(ms).toISOString()` for the ledger's timestamps, without a Date per
// call: the formatting cost ~1 µs and a record write makes two to four of them
// (PROFILE.md round 3). The date and time up to the second are kept for the
// second last seen; the milliseconds are patched in and the string made flat
// by String.fromCharCode (a concatenation would leave a cons string, ~28 B
// more per stored timestamp). Anything outside whole milliseconds of years
// 1970-9999 goes to Date itself, errors (NaN) included.

const MAX = 253402300800000; // 10000-01-01T00:00:00.000Z
const codes: number[] = new Array(24).fill(0);
let second = Number.NaN;
let lastMs = Number.NaN;
let last = '';

export function isoTime(ms: number): string {
  if (ms === lastMs) return last;
  if (!(ms >= 0 && ms < MAX) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const milli = ms % 1000;
  const sec = ms - milli;
  if (sec !== second) {
    const text = new Date(sec).toISOString();
    for (let i = 0; i < 24; i++) codes[i] = text.charCodeAt(i);
    second = sec;
  }
  codes[20] = 48 + Math.floor(milli / 100);
  codes[21] = 48 + (Math.floor(milli / 10) % 10);
  codes[22] = 48 + (milli % 10);
  const c = codes;
  last = String.fromCharCode(
    c[0]!,
    c[1]!,
    c[2]!,
    c[3]!,
    c[4]!,
    c[5]!,
    c[6]!,
    c[7]!,
    c[8]!,
    c[9]!,
    c[10]!,
    c[11]!,
    c[12]!,
    c[13]!,
    c[14]!,
    c[15]!,
    c[16]!,
    c[17]!,
    c[18]!,
    c[19]!,
    c[20]!,
    c[21]!,
    c[22]!,
    c[23]!,
  );
  lastMs = ms;
  return last;
}
