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
