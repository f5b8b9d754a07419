import t from 'tap';
import type { LineageRecord } from '../../src/interfaces.ts';
import { createRecordCompactor } from '../../src/ledger/compact-record.ts';
import { approxBytes, measureRecord } from '../../src/ledger/record-size.ts';

const base = (over: Partial<LineageRecord> = {}): LineageRecord => ({
  id: 'l-1',
  state: 'succeeded',
  tier: 0,
  queue: 'incoming',
  attempts: { '0': 1 },
  history: [{ tier: 0, attempt: 1, queue: 'incoming', taskName: 'l-1', outcome: 'succeeded', startedAt: 'a', finishedAt: 'b' }],
  createdAt: 'a',
  updatedAt: 'b',
  ...over,
});

t.test('a compacted record equals the original, minus undefined fields, and is frozen', async (t) => {
  const c = createRecordCompactor();
  const record = { ...base({ result: { deep: [1, { x: 'y' }] }, labels: { team: 'a' } }), lease: undefined };
  const out = c.compact(record);
  const { lease: _gone, ...expected } = record;
  t.strictSame(out, expected);
  t.notOk('lease' in out, 'an undefined field is not kept as a key');
  t.ok(Object.isFrozen(out) && Object.isFrozen(out.history[0]) && Object.isFrozen(out.attempts), 'frozen');
});

t.test('past the shape and sharing limits records are still compacted correctly', async (t) => {
  const c = createRecordCompactor();
  const wrong: number[] = [];
  for (let i = 0; i < 600; i++) {
    // A new key set each time (more than the builders kept) and distinct counts (more shapes of attempts).
    const record = { ...base({ id: `l-${i}`, attempts: { [String(i)]: i } }), [`extra${i}`]: i } as LineageRecord;
    if (JSON.stringify(c.compact(record)) !== JSON.stringify(record)) wrong.push(i);
  }
  t.same(wrong, [], 'every record kept its fields and values');
});

t.test('approxBytes grows with the data it is given and counts every kind of value', async (t) => {
  const small = approxBytes(base());
  t.ok(small > 200 && small < 2000, `a small record is a few hundred bytes (${small})`);
  t.ok(approxBytes(base({ result: 'x'.repeat(10_000) })) - small >= 10_000, 'a long string counts by its length');
  t.ok(approxBytes(new Uint8Array(5000)) >= 5000, 'typed arrays count their bytes');
  t.ok(approxBytes(new Date(0)) > 0, 'other objects count their JSON');
  t.equal(approxBytes(undefined), 0);
});

t.test("measureRecord's JSON bound is never below the real JSON size, and its heap figure is approxBytes'", async (t) => {
  const values: unknown[] = [
    base(),
    base({ result: { text: '\u0000\u0001"\\\n', emoji: '😀é中', n: -1.2345678901234567e-308, big: Number.MAX_VALUE, t: true, f: false, z: null } }),
    base({ result: [undefined, null, 1, 'x', [[], {}], { skipped: undefined }] }),
    { ['\u0001'.repeat(50)]: 'é'.repeat(1000) },
    '\u0001'.repeat(10_000),
  ];
  for (const v of values) {
    const { heap, jsonAtMost } = measureRecord(v);
    t.ok(jsonAtMost >= Buffer.byteLength(JSON.stringify(v)), `bound ${jsonAtMost} covers ${Buffer.byteLength(JSON.stringify(v))}`);
    t.equal(heap, approxBytes(v));
  }
  t.equal(measureRecord({ d: new Date(0) }).jsonAtMost, Infinity, 'other objects are not bounded: boundRecord serialises them');
  t.equal(measureRecord({ n: 1n }).jsonAtMost, Infinity);
  t.equal(approxBytes({ a: 1, b: undefined }), approxBytes({ a: 1 }), 'an undefined key counts nothing (it is not stored)');
});
