import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Firestore, Timestamp } from '@google-cloud/firestore';
import t from 'tap';
import type { DeadLetter } from '../../src/interfaces.ts';
import { createFirestoreLedger, deadLetterDocId, lineageDocId } from '../../src/ledger/firestore-ledger.ts';
import { freePort } from '../helpers/free-port.ts';
import { startGcloudEmulator } from '../helpers/gcloud-emulator.ts';
import { beginInput, finishInput, ledgerContract, T0, TTL_MS } from './contract.ts';

// About 200 transactions (several contended) against the Java emulator: 25-60 s on a
// loaded 2-core machine, so the file gets room beyond tap's 120 s default.
t.setTimeout(300_000);

const PROJECT = 'ledger-test';
const emulator = await startGcloudEmulator('firestore', { project: PROJECT });
t.teardown(() => emulator.stop());
// The Firestore client reads this itself when it is constructed.
process.env.FIRESTORE_EMULATOR_HOST = emulator.host;

let n = 0;
const freshPrefix = () => `t${process.pid}-${++n}`;

ledgerContract(t, 'firestore ledger', async () => {
  const ledger = createFirestoreLedger({ projectId: PROJECT, collectionPrefix: freshPrefix(), ttlMs: TTL_MS, maxHistory: 5, clock: { now: () => T0 } });
  return { ledger, cleanup: () => ledger.close() };
});

t.test('concurrent begins from two separate clients count distinct attempts', async (t) => {
  const collectionPrefix = freshPrefix();
  const a = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
  const b = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).begin(beginInput({ now: Date.now() }))));
  const attempts = results.map((r) => (r.duplicate ? -1 : r.attempt)).sort((x, y) => x - y);
  t.same(attempts, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.same((await a.get('lineage-1'))?.attempts, { '0': 10 });
});

t.test('two clients ending the last two tasks of a job at once: exactly one completes it', async (t) => {
  for (let round = 0; round < 5; round++) {
    const collectionPrefix = freshPrefix();
    const a = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
    const b = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
    t.teardown(() => Promise.all([a.close(), b.close()]));
    await a.jobTaskEnded({ job: 'j', size: 3, lineage: 'j-0', state: 'succeeded', now: Date.now() });
    const [x, y] = await Promise.all([
      a.jobTaskEnded({ job: 'j', size: 3, lineage: 'j-1', state: 'succeeded', now: Date.now() }),
      b.jobTaskEnded({ job: 'j', size: 3, lineage: 'j-2', state: 'failed', now: Date.now() }),
    ]);
    t.equal([x, y].filter((r) => r.completed).length, 1, `round ${round}: one completion`);
    t.same((await a.getJob('j'))?.counts, { succeeded: 2, failed: 1, cancelled: 0 });
  }
});

t.test('records survive a restart: written by another process, read by a new ledger', async (t) => {
  const collectionPrefix = freshPrefix();
  const dir = mkdtempSync(join(tmpdir(), 'ledger-restart-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'write.ts');
  const src = fileURLToPath(new URL('../../src/ledger/firestore-ledger.ts', import.meta.url));
  writeFileSync(
    script,
    `import { createFirestoreLedger } from ${JSON.stringify(src)};\n` +
      `const ledger = createFirestoreLedger({ projectId: ${JSON.stringify(PROJECT)}, collectionPrefix: ${JSON.stringify(collectionPrefix)} });\n` +
      `const r = await ledger.begin({ id: 'survivor', tier: 0, queue: 'incoming', taskName: 'survivor', type: 'echo', headerAttempt: 1, maxAttempts: 3, now: Date.now() });\n` +
      `await ledger.finish({ id: 'survivor', tier: 0, attempt: r.duplicate ? 0 : r.attempt, outcome: 'retry', error: { code: 'E', message: 'e', permanent: false }, now: Date.now() });\n` +
      `await ledger.close();\n`,
  );
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { stdio: 'inherit', env: { ...process.env, FIRESTORE_EMULATOR_HOST: emulator.host } });
    child.once('exit', resolve);
  });
  t.equal(code, 0, 'the writer process exited cleanly');
  const ledger = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
  t.teardown(() => ledger.close());
  const rec = await ledger.get('survivor');
  t.match(rec, { state: 'retrying', attempts: { '0': 1 }, error: { code: 'E' } });
  const next = await ledger.begin(beginInput({ id: 'survivor', now: Date.now() }));
  t.equal(next.duplicate ? -1 : next.attempt, 2, 'the count continues after the restart');
});

t.test('expiresAt is stored as a Timestamp for the Firestore TTL policy', async (t) => {
  const collectionPrefix = freshPrefix();
  const ledger = createFirestoreLedger({ projectId: PROJECT, collectionPrefix, ttlMs: TTL_MS });
  const raw = new Firestore({ projectId: PROJECT });
  t.teardown(async () => {
    await ledger.close();
    await raw.terminate();
  });
  await ledger.begin(beginInput());
  await ledger.finish(finishInput({ outcome: 'succeeded', result: [[1], { deep: true }] }));
  const doc = await raw.collection(`${collectionPrefix}-lineages`).doc('lineage-1').get();
  const expiresAt = doc.get('expiresAt');
  t.ok(expiresAt instanceof Timestamp, 'a Timestamp, not a string');
  t.equal((expiresAt as Timestamp).toMillis(), T0 + 1000 + TTL_MS);
  t.same((await ledger.get('lineage-1'))?.result, [[1], { deep: true }], 'nested arrays survive (kept as JSON)');
});

t.test('an expired record reads as gone before the TTL sweep deletes it', async (t) => {
  let now = T0;
  const ledger = createFirestoreLedger({ projectId: PROJECT, collectionPrefix: freshPrefix(), ttlMs: TTL_MS, clock: { now: () => now } });
  t.teardown(() => ledger.close());
  await ledger.begin(beginInput());
  await ledger.finish(finishInput({ outcome: 'failed', now: T0 }));
  t.equal((await ledger.get('lineage-1'))?.state, 'failed');
  now = T0 + TTL_MS;
  t.equal(await ledger.get('lineage-1'), undefined);
  const again = await ledger.begin(beginInput({ now }));
  t.equal(again.duplicate ? -1 : again.attempt, 1, 'a delivery after expiry starts afresh');
});

t.test('ids that are not valid document ids are encoded and still work', async (t) => {
  t.equal(lineageDocId('task-123_abc'), 'task-123_abc', 'task-name-like ids are used as is');
  t.match(lineageDocId('a/b'), /^~[A-Za-z0-9_-]+$/);
  t.match(lineageDocId('__x__'), /^~/);
  t.notMatch(deadLetterDocId('l/forward/1'), /\//);
  const ledger = createFirestoreLedger({ projectId: PROJECT, collectionPrefix: freshPrefix() });
  t.teardown(() => ledger.close());
  for (const id of ['a/b', '..', '__x__']) {
    await ledger.begin(beginInput({ id }));
    t.equal((await ledger.get(id))?.id, id, `${id} round-trips`);
  }
});

t.test('ping rejects when Firestore is unreachable', async (t) => {
  const saved = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = `127.0.0.1:${await freePort()}`;
  const ledger = createFirestoreLedger({ projectId: PROJECT, pingTimeoutMs: 1500 });
  process.env.FIRESTORE_EMULATOR_HOST = saved;
  t.teardown(() => ledger.close());
  await t.rejects(ledger.ping());
});

t.test('20 concurrent deliveries of one task over two instances sharing Firestore run the job once', async (t) => {
  const { harness } = await import('../delivery/app-harness.ts');
  const collectionPrefix = freshPrefix();
  const la = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
  const lb = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
  t.teardown(() => Promise.all([la.close(), lb.close()]));
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const behaviour = async () => {
    runs++;
    await gate;
    return { state: 'succeeded' as const };
  };
  const clock = { now: () => Date.now(), advance() {} };
  const a = harness(t, la, { behaviour, clock });
  const b = harness(t, lb, { behaviour, clock });
  const pushes = Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).push({ type: 'work' }));
  const replies: Array<Awaited<(typeof pushes)[number]>> = [];
  // Release the job once every copy but the running one has been answered.
  const settled = pushes.map((p) => p.then((r) => (replies.push(r), r)));
  for (let i = 0; i < 2400 && replies.length < 19; i++) await new Promise((r) => setTimeout(r, 25));
  release();
  await Promise.all(settled);
  t.equal(runs, 1, 'the job ran once');
  t.equal(replies.filter((r) => r.statusCode === 200).length, 1);
  t.equal(replies.filter((r) => r.statusCode === 429 && r.json().outcome === 'busy').length, 19);
  t.same((await la.get('task-1'))?.attempts, { '0': 1 }, 'one attempt counted');
});

t.test('a cancel by another instance between begin and finish is not overwritten by the finish', async (t) => {
  // The finish after this instance's begin is one write with a precondition on the
  // update time: the cancel changed the document, so the write must not land blindly.
  const collectionPrefix = freshPrefix();
  const a = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
  const b = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const now = Date.now();
  const begun = await a.begin(beginInput({ now }));
  t.equal(begun.duplicate, false);
  t.equal((await b.cancel('lineage-1', now + 10))?.state, 'cancelled');
  const finished = await a.finish(finishInput({ outcome: 'succeeded', now: now + 20 }));
  t.equal(finished.state, 'cancelled', 'the finish saw the cancel');
  t.equal((await b.get('lineage-1'))?.state, 'cancelled');
});

t.test('status text another instance wrote during the attempt survives the finish, and the finish still lands', async (t) => {
  const collectionPrefix = freshPrefix();
  const a = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
  const b = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const now = Date.now();
  await a.begin(beginInput({ now }));
  await b.setStatusText('lineage-1', 'halfway', now + 10);
  const letter: DeadLetter = {
    key: 'lineage-1/notify/0',
    lineageId: 'lineage-1',
    kind: 'notify',
    createdAt: new Date(now).toISOString(),
    target: { url: 'http://cb' },
  };
  const finished = await a.finish(finishInput({ outcome: 'succeeded', owed: [letter], now: now + 20 }));
  t.equal(finished.state, 'succeeded');
  const stored = await b.get('lineage-1');
  t.equal(stored?.state, 'succeeded');
  t.equal(stored?.statusText, 'halfway', 'not lost to a blind write');
  t.same(
    (await b.listDeadLetters('lineage-1')).map((l) => l.key),
    ['lineage-1/notify/0'],
    'the owed letter was written with the finish',
  );
});

t.test('a first delivery that another instance already began counts the next attempt (the guessed create fails over to a read)', async (t) => {
  const collectionPrefix = freshPrefix();
  const a = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
  const b = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const now = Date.now();
  const first = await a.begin(beginInput({ now }));
  await a.finish(finishInput({ outcome: 'retry', now: now + 10 }));
  // Same headers as a first dispatch: b guesses the lineage is new.
  const second = await b.begin(beginInput({ now: now + 20 }));
  t.equal(first.duplicate ? -1 : first.attempt, 1);
  t.equal(second.duplicate ? -1 : second.attempt, 2);
  // a's knowledge of the document is stale now: its finish must not undo b's begin.
  const done = await a.finish(finishInput({ attempt: 2, outcome: 'succeeded', now: now + 30 }));
  t.equal(done.state, 'succeeded');
  t.same((await b.get('lineage-1'))?.attempts, { '0': 2 });
});
