import t from 'tap';
import { isoTime } from '../../src/ledger/iso-time.ts';

t.test('isoTime writes what Date#toISOString writes, for every kind of input', async (t) => {
  const now = Date.parse('2026-11-24T05:59:59.990Z');
  const values = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -1000, -1.5, 1.5, 0.4, 253402300799999, 253402300800000, 8.64e15, -8.64e15];
  // Across second, minute, day and year boundaries, and back again (the cached second changes).
  for (let ms = now; ms < now + 40; ms++) values.push(ms, ms - 86_400_000);
  values.push(Date.parse('2026-12-31T23:59:59.999Z'), Date.parse('2027-01-01T00:00:00.000Z'), Date.parse('2028-02-29T12:34:56.789Z'), now, now);
  // Interleaved as a delivery stamps them (now, the lease's end, the expiry a day on), over more days than are cached.
  for (let i = 0; i < 30; i++) values.push(now + i * 7_777_777, now + i * 7_777_777 + 570_000, now + i * 7_777_777 + 86_400_000);
  for (let i = 0; i < 2000; i++) values.push(Math.floor(Math.random() * 253402300800000));
  const wrong = values.filter((ms) => isoTime(ms) !== new Date(ms).toISOString());
  t.same(wrong, []);
});

t.test('isoTime throws as Date does on an invalid time', async (t) => {
  t.throws(() => isoTime(Number.NaN), RangeError);
  t.throws(() => isoTime(8.64e15 + 1), RangeError);
  t.throws(() => isoTime(Number.POSITIVE_INFINITY), RangeError);
});

t.test('isoTime gives each call its own value', async (t) => {
  const a = isoTime(Date.parse('2026-11-24T05:00:00.001Z'));
  const b = isoTime(Date.parse('2026-11-24T05:00:00.002Z'));
  t.equal(a, '2026-11-24T05:00:00.001Z');
  t.equal(b, '2026-11-24T05:00:00.002Z');
});
