// limits.ts: texts cut with a marker; records and events kept under 256 KiB.
import t from 'tap';
import type { LineageRecord } from '../src/interfaces.ts';
import { boundError, boundEvent, boundRecord, MAX_RECORD_BYTES, truncateText } from '../src/limits.ts';
import { buildCloudEvent } from '../src/notifier/cloud-event.ts';

const record = (over: Partial<LineageRecord> = {}): LineageRecord => ({
  id: 'l',
  state: 'failed',
  tier: 0,
  attempts: { '0': 1 },
  history: [],
  createdAt: '2026-11-23T00:00:00.000Z',
  updatedAt: '2026-11-23T00:00:00.000Z',
  ...over,
});

t.test('truncateText cuts to the byte limit, marks the cut and never splits a character', async (t) => {
  t.equal(truncateText('short'), 'short');
  const cut = truncateText('é'.repeat(1000), 512);
  t.ok(Buffer.byteLength(cut) <= 512);
  t.match(cut, /…\[cut\]$/);
  t.notMatch(cut, /\uFFFD/);
});

t.test('a record with a huge error, result and history stays under 256 KiB and says what was cut', async (t) => {
  const huge = 'm'.repeat(2_000_000);
  const history = Array.from({ length: 400 }, (_, i) => ({
    tier: 0,
    attempt: i,
    queue: 'q',
    taskName: 't'.repeat(500),
    outcome: 'retry' as const,
    startedAt: 'x',
    error: { code: 'E', message: huge, permanent: false },
  }));
  const out = boundRecord(record({ error: { code: 'E', message: huge, permanent: true }, result: { big: huge }, history }));
  t.ok(Buffer.byteLength(JSON.stringify(out)) <= MAX_RECORD_BYTES, `${JSON.stringify(out).length} bytes`);
  t.ok(Buffer.byteLength(out.error!.message) <= 512);
  t.match(out.result, { truncated: true, bytes: 2_000_010 });
  t.same(new Set(out.truncated), new Set(['error', 'history', 'result']));
  t.equal(out.history.at(-1)?.attempt, 399, 'the newest history is kept');
});

t.test('a result that cannot be serialised (too deep for the stack) becomes a marker, not a crash', async (t) => {
  let deep: unknown = 1;
  for (let i = 0; i < 200_000; i++) deep = [deep];
  const out = boundRecord(record({ result: deep }));
  t.match(out.result, { truncated: true });
  t.ok(JSON.stringify(out));
});

t.test('a small record passes unchanged (same object)', async (t) => {
  const r = record({ error: { code: 'E', message: 'm', permanent: true }, result: { ok: 1 } });
  t.equal(boundRecord(r), r);
});

t.test('a notification is built under 256 KiB whatever the error text and result', async (t) => {
  const event = buildCloudEvent({
    kind: 'failed',
    source: 'urn:x',
    time: new Date(0),
    data: {
      id: 'l',
      type: 'echo',
      queue: 'q',
      tier: 0,
      attempt: 1,
      maxAttempts: 3,
      state: 'failed',
      error: { code: 'E', message: 'k'.repeat(600_000), permanent: true },
      result: 'r'.repeat(1_000_000),
      startedAt: 'x',
      finishedAt: 'y',
    },
  });
  t.ok(Buffer.byteLength(JSON.stringify(event)) <= MAX_RECORD_BYTES);
  t.ok(Buffer.byteLength(event.data.error!.message) <= 512);
  t.match(event.data.result, { truncated: true });
  t.equal(boundEvent(event), event, 'bounding twice changes nothing');
});

t.test('an error text with lone surrogates or NUL (a job may make one) is made storable', async (t) => {
  t.same(boundError({ code: 'E\u0000', message: 'a\ud800b\udc00c\u0000 😀', permanent: false }), {
    code: 'E\uFFFD',
    message: 'a\uFFFDb\uFFFDc\uFFFD 😀',
    permanent: false,
  });
});

t.test('a record over the bound only by its escapes is still cut ', async (t) => {
  // 50,000 control characters: 50 KB as UTF-16, 300 KB as JSON escapes.
  const out = boundRecord(record({ result: '\u0001'.repeat(50_000) }));
  t.ok(Buffer.byteLength(JSON.stringify(out)) <= MAX_RECORD_BYTES);
  t.match(out.result, { truncated: true });
  const ascii = record({ result: 'a'.repeat(100_000) });
  t.equal(boundRecord(ascii), ascii, 'a 100 KB result under the bound is kept as is');
});
