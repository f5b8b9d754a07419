import pino from 'pino';
import t from 'tap';
import { systemClock } from '../../src/interfaces.ts';
import { createMemoryLedger } from '../../src/ledger/index.ts';
import { type ChunkStore, chunkKey, memoryChunkStore } from '../../src/output/chunk-store.ts';
import { createOutputHub } from '../../src/output/output-hub.ts';

const CREATED = '2026-11-24T00:00:00.000Z';

t.test('a chunk whose put failed is retried with the same bytes; later output goes in the next chunk', async (t) => {
  const inner = memoryChunkStore();
  let failures = 1;
  const store: ChunkStore = {
    async put(key, bytes) {
      if (failures-- > 0) throw new Error('injected put failure');
      await inner.put(key, bytes);
    },
    get: (key) => inner.get(key),
  };
  const logger = pino({ level: 'silent' });
  const hub = createOutputHub({ store, ledger: createMemoryLedger(), clock: systemClock, logger, limitBytes: 1024, flushMs: 60_000, flushBytes: 4 });
  const out = hub.start({ id: 'r1', createdAt: CREATED, tier: 0, attempt: 1, log: logger });
  hub.write('r1', 'stdout', 'aaaa'); // flush: the put fails
  await new Promise((r) => setImmediate(r));
  hub.write('r1', 'stdout', 'bbbb'); // flush: retries 'aaaa' alone
  await out.end();
  const chunk = async (seq: number) => (await inner.get(chunkKey('r1', CREATED, 0, 1, seq)))?.toString();
  t.equal(await chunk(0), 'aaaa', 'the retried chunk holds what the failed put held');
  t.equal(await chunk(1), 'bbbb');
  t.equal(await chunk(2), undefined);
});

t.test("one hub-wide ticker flushes every running attempt's output and polls status()", async (t) => {
  const store = memoryChunkStore();
  const ledger = createMemoryLedger();
  const logger = pino({ level: 'silent' });
  const hub = createOutputHub({ store, ledger, clock: systemClock, logger, limitBytes: 1024, flushMs: 10, flushBytes: 1 << 20, statusIntervalMs: 10 });
  const now = Date.now();
  await ledger.begin({ id: 'r2', tier: 0, queue: 'q', taskName: 'r2', type: 'spin', headerAttempt: 0, maxAttempts: null, now });
  let status = 'running';
  const job = { type: 'spin', status: () => status } as unknown as Parameters<typeof hub.start>[0]['job'];
  const a = hub.start({ id: 'r1', createdAt: CREATED, tier: 0, attempt: 1, log: logger });
  const b = hub.start({ id: 'r2', createdAt: CREATED, tier: 0, attempt: 1, log: logger, ...(job ? { job } : {}) });
  hub.write('r1', 'stdout', 'from r1');
  hub.write('r2', 'stdout', 'from r2');
  status = 'half way';
  const stored = async (id: string) => (await store.get(chunkKey(id, CREATED, 0, 1, 0)))?.toString();
  // Wait for the ticker (not for end(), which flushes too): both chunks and the polled status.
  while ((await stored('r1')) === undefined || (await stored('r2')) === undefined || (await ledger.get('r2'))?.statusText !== 'half way') {
    await new Promise((r) => setTimeout(r, 5));
  }
  t.equal(await stored('r1'), 'from r1');
  t.equal(await stored('r2'), 'from r2');
  t.equal((await ledger.get('r2'))?.statusText, 'half way', "the job's status() was polled");
  await a.end();
  hub.write('r2', 'stdout', 'more');
  while ((await store.get(chunkKey('r2', CREATED, 0, 1, 1))) === undefined) await new Promise((r) => setTimeout(r, 5));
  t.equal((await store.get(chunkKey('r2', CREATED, 0, 1, 1)))?.toString(), 'more', 'the ticker runs on for the attempt left');
  await b.end();
});
