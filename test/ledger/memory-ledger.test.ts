import t from 'tap';
import { createMemoryLedger } from '../../src/ledger/memory-ledger.ts';
import { approxBytes } from '../../src/ledger/record-size.ts';
import { beginInput, finishInput, ledgerContract, T0, TTL_MS } from './contract.ts';

ledgerContract(t, 'memory ledger', async () => {
  const ledger = createMemoryLedger({ ttlMs: TTL_MS, maxHistory: 5, clock: { now: () => T0 } });
  return { ledger, cleanup: () => ledger.close() };
});

function manualClock(start = T0) {
  let now = start;
  return { now: () => now, set: (ms: number) => void (now = ms) };
}

t.test('a finished record disappears once its ttl has passed', async (t) => {
  const clock = manualClock();
  const ledger = createMemoryLedger({ ttlMs: TTL_MS, clock });
  await ledger.begin(beginInput());
  const done = await ledger.finish(finishInput({ outcome: 'succeeded', now: T0 }));
  clock.set(T0 + TTL_MS - 1);
  t.same(await ledger.get('lineage-1'), done, 'still there just before expiry');
  clock.set(T0 + TTL_MS);
  t.equal(await ledger.get('lineage-1'), undefined, 'gone at expiry');
  const again = await ledger.begin(beginInput({ now: T0 + TTL_MS }));
  t.equal(again.duplicate ? -1 : again.attempt, 1, 'a delivery after expiry starts a fresh record');
});

t.test('unfinished records never expire', async (t) => {
  const clock = manualClock();
  const ledger = createMemoryLedger({ ttlMs: TTL_MS, clock });
  await ledger.begin(beginInput());
  await ledger.finish(finishInput({ outcome: 'retry' }));
  clock.set(T0 + 100 * TTL_MS);
  t.equal((await ledger.get('lineage-1'))?.state, 'retrying');
});

t.test('expired records are swept on the prune cadence without being read', async (t) => {
  const clock = manualClock();
  const ledger = createMemoryLedger({ ttlMs: TTL_MS, pruneIntervalMs: 1000, clock });
  for (let i = 0; i < 10; i++) {
    await ledger.begin(beginInput({ id: `done-${i}` }));
    await ledger.finish(finishInput({ id: `done-${i}`, outcome: 'failed', now: T0 }));
  }
  await ledger.begin(beginInput({ id: 'open' }));
  t.equal(ledger.size(), 11);
  clock.set(T0 + TTL_MS + 1000);
  await ledger.begin(beginInput({ id: 'other', now: clock.now() }));
  t.equal(ledger.size(), 2, 'only the unfinished records are left');
});

t.test('over maxRecords the oldest finished records are evicted before unfinished ones', async (t) => {
  const ledger = createMemoryLedger({ ttlMs: TTL_MS, maxRecords: 10, clock: { now: () => T0 } });
  for (let i = 0; i < 5; i++) {
    await ledger.begin(beginInput({ id: `done-${i}` }));
    await ledger.finish(finishInput({ id: `done-${i}`, outcome: 'succeeded', now: T0 + i }));
  }
  for (let i = 0; i < 6; i++) await ledger.begin(beginInput({ id: `open-${i}` }));
  t.ok(ledger.size() <= 10, `bounded (size ${ledger.size()})`);
  t.equal(await ledger.get('done-0'), undefined, 'the oldest finished record went first');
  t.ok(await ledger.get('done-4'), 'a newer finished record stays');
  for (let i = 0; i < 6; i++) t.ok(await ledger.get(`open-${i}`), `open-${i} kept`);
});

t.test('maxRecords holds even when no record has finished', async (t) => {
  const ledger = createMemoryLedger({ maxRecords: 10 });
  for (let i = 0; i < 25; i++) await ledger.begin(beginInput({ id: `open-${i}`, now: T0 + i }));
  t.ok(ledger.size() <= 10, `bounded (size ${ledger.size()})`);
  t.ok(await ledger.get('open-24'), 'the newest record stays');
  t.equal(await ledger.get('open-0'), undefined, 'the least recently updated went first');
});

t.test('dead letters are bounded, oldest dropped first', async (t) => {
  const ledger = createMemoryLedger({ maxDeadLetters: 3 });
  for (let i = 0; i < 5; i++) {
    await ledger.putDeadLetter({
      key: `l/forward/${i}`,
      lineageId: 'l',
      kind: 'forward',
      error: { code: 'E', message: 'e', permanent: false },
      createdAt: new Date(T0 + i).toISOString(),
    });
  }
  t.same(
    (await ledger.listDeadLetters()).map((l) => l.key),
    ['l/forward/2', 'l/forward/3', 'l/forward/4'],
  );
});

t.test('a closed memory ledger refuses work', async (t) => {
  const ledger = createMemoryLedger();
  await ledger.close();
  await t.rejects(ledger.ping(), /closed/);
  await t.rejects(ledger.begin(beginInput()), /closed/);
});

t.test('the first eviction of a finished lineage before its TTL is logged once, as a warning', async (t) => {
  const warnings: Array<{ obj: object; msg: string }> = [];
  const logger = { warn: (obj: object, msg: string) => warnings.push({ obj, msg }) };
  const ledger = createMemoryLedger({ ttlMs: TTL_MS, maxRecords: 10, clock: { now: () => T0 }, logger });
  for (let i = 0; i < 10; i++) {
    await ledger.begin(beginInput({ id: `done-${i}` }));
    await ledger.finish(finishInput({ id: `done-${i}`, outcome: 'succeeded', now: T0 + i }));
  }
  t.same(warnings, [], 'nothing evicted yet');
  for (let i = 0; i < 8; i++) await ledger.begin(beginInput({ id: `more-${i}` }));
  t.equal(await ledger.get('done-0'), undefined, 'a finished lineage was evicted');
  t.equal(warnings.length, 1, 'warned once');
  t.match(warnings[0], { obj: { maxRecords: 10, evicted: 'done-0' }, msg: /evicted before LEDGER_TTL/ });
  for (let i = 0; i < 20; i++) await ledger.begin(beginInput({ id: `open-${i}` }));
  t.equal(warnings.length, 2, 'evicting unfinished lineages is warned once too');
  t.match(warnings[1], { msg: /unfinished lineages/ });
});

t.test('records are handed out as stored, frozen all the way down, not cloned', async (t) => {
  const ledger = createMemoryLedger({ ttlMs: TTL_MS, clock: { now: () => T0 } });
  const begun = await ledger.begin(beginInput({ source: { type: 'echo', data: { deep: { list: [1] } } }, labels: { a: 'b' } }));
  const got = await ledger.get('lineage-1');
  t.equal(got, begun.record, 'get returns the very record begin stored');
  const frozen = (v: unknown): boolean => typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v as object).every(frozen));
  t.ok(frozen(got), 'every object in the record is frozen');
  const done = await ledger.finish(finishInput({ outcome: 'succeeded', result: { r: [{ x: 1 }] } }));
  t.ok(frozen(done), 'the finished record too');
  t.equal(done.source, got?.source, 'unchanged parts are shared between versions, not copied');
  await ledger.begin(beginInput({ id: 'lineage-2', queue: 'incoming' }));
  const other = await ledger.finish(finishInput({ id: 'lineage-2', outcome: 'succeeded' }));
  t.same(other.attempts, { '0': 1 });
  t.equal(other.attempts, done.attempts, 'equal small values are one shared frozen object across lineages');
  t.same(
    Object.keys(other),
    Object.keys(other).filter((k) => (other as unknown as Record<string, unknown>)[k] !== undefined),
    'no undefined fields stored',
  );
});

t.test('over maxBytes the oldest finished lineages go first; running ones and ones that owe effects are never evicted for it', async (t) => {
  const warnings: string[] = [];
  const big = { type: 'echo', data: { blob: 'x'.repeat(2000) } };
  const ledger = createMemoryLedger({ ttlMs: TTL_MS, maxBytes: 20_000, clock: { now: () => T0 }, logger: { warn: (_o, msg) => warnings.push(msg) } });
  // Running, and finished owing a notification: neither may go.
  for (let i = 0; i < 3; i++) await ledger.begin(beginInput({ id: `run-${i}`, source: big }));
  await ledger.begin(beginInput({ id: 'owes', source: big }));
  const owed = { key: 'owes/notify/x', lineageId: 'owes', kind: 'notify' as const, createdAt: new Date(T0).toISOString() };
  await ledger.finish(finishInput({ id: 'owes', outcome: 'failed', now: T0, owed: [owed] }));
  for (let i = 0; i < 10; i++) {
    await ledger.begin(beginInput({ id: `done-${i}`, source: big, now: T0 + 10 + i }));
    await ledger.finish(finishInput({ id: `done-${i}`, outcome: 'succeeded', now: T0 + 10 + i }));
  }
  t.ok(ledger.bytes() <= 20_000, `bounded (${ledger.bytes()} bytes)`);
  t.equal(await ledger.get('done-0'), undefined, 'the oldest finished lineage went first');
  t.ok(await ledger.get('done-9'), 'the newest finished lineage stays');
  for (let i = 0; i < 3; i++) t.equal((await ledger.get(`run-${i}`))?.state, 'running', `run-${i} kept`);
  t.equal((await ledger.get('owes'))?.state, 'failed', 'the lineage that owes a notification is kept');
  t.match(warnings, [/evicted before LEDGER_TTL/], 'the first eviction is warned about');

  // Only running lineages left over the bound: nothing is evicted, said once.
  const full = createMemoryLedger({ maxBytes: 5_000, logger: { warn: (_o, msg) => warnings.push(msg) } });
  for (let i = 0; i < 6; i++) await full.begin(beginInput({ id: `r-${i}`, source: big }));
  t.equal(full.size(), 6, 'no running lineage evicted');
  t.ok(full.bytes() > 5_000);
  t.equal(warnings.filter((w) => /over LEDGER_MAX_BYTES/.test(w)).length, 1, 'being over the bound with nothing evictable is warned once');
});

t.test('bytes() follows what is held: it grows with payloads, and falls as records expire and on close', async (t) => {
  const clock = manualClock();
  const ledger = createMemoryLedger({ ttlMs: TTL_MS, pruneIntervalMs: 1, clock });
  t.equal(ledger.bytes(), 0);
  await ledger.begin(beginInput({ id: 'small' }));
  const small = ledger.bytes();
  await ledger.begin(beginInput({ id: 'large', source: { type: 'echo', data: 'y'.repeat(10_000) } }));
  t.ok(ledger.bytes() - small > 10_000, 'a large payload counts by its size');
  await ledger.finish(finishInput({ id: 'large', outcome: 'succeeded', now: T0 }));
  clock.set(T0 + TTL_MS + 10);
  await ledger.begin(beginInput({ id: 'other', now: clock.now() }));
  t.ok(ledger.bytes() < 3 * small, `the expired large record no longer counts (${ledger.bytes()})`);
  await ledger.close();
  t.equal(ledger.bytes(), 0);
});

t.test('bytes() is the sum of approxBytes of the records held, through begin, busy, finish, retry, status, cancel and expiry', async (t) => {
  const clock = manualClock();
  const ledger = createMemoryLedger({ ttlMs: TTL_MS, pruneIntervalMs: 1, clock });
  const held = async (ids: string[]) => {
    let sum = 0;
    for (const id of ids) {
      const r = await ledger.get(id);
      if (r) sum += approxBytes(r);
    }
    return sum;
  };
  const ids = ['a', 'b', 'c', 'd'];
  const lease = { holder: 'h', ms: 60_000 };
  await ledger.begin(beginInput({ id: 'a', lease }));
  t.equal(ledger.bytes(), await held(ids), 'a running record');
  await ledger.begin(beginInput({ id: 'a', lease: { holder: 'other', ms: 60_000 } }));
  t.equal(ledger.bytes(), await held(ids), 'a busy refusal counted in skipped');
  await ledger.finish(finishInput({ id: 'a', outcome: 'retry', holder: 'h', error: { code: 'E', message: 'x'.repeat(300), permanent: false } }));
  t.equal(ledger.bytes(), await held(ids), 'a retrying record');
  await ledger.begin(beginInput({ id: 'a', headerAttempt: 2, lease, now: T0 + 2000 }));
  await ledger.finish(finishInput({ id: 'a', attempt: 2, outcome: 'succeeded', holder: 'h', result: { r: 'y'.repeat(500) }, now: T0 + 3000 }));
  t.equal(ledger.bytes(), await held(ids), 'a finished record after two attempts');
  await ledger.begin(beginInput({ id: 'b', lease }));
  await ledger.setStatusText('b', 'half way', T0);
  t.equal(ledger.bytes(), await held(ids), 'a running record with its status text');
  await ledger.cancel('b', T0 + 10);
  await ledger.cancel('c', T0 + 10, { queue: 'incoming', type: 'echo' });
  t.equal(ledger.bytes(), await held(ids), 'cancelled, running and never run');
  await ledger.begin(beginInput({ id: 'd', lease }));
  await ledger.finish(finishInput({ id: 'd', outcome: 'throttled', holder: 'h' }));
  t.equal(ledger.bytes(), await held(ids), 'a throttled record');
  clock.set(T0 + TTL_MS + 10_000);
  await ledger.begin(beginInput({ id: 'e', now: clock.now() }));
  t.equal(ledger.bytes(), await held([...ids, 'e']), 'after the finished ones expired');
});
