// Per ledger (memory and the Firestore emulator): 500-character ids work on
// every /v1 route, and a job's huge error and result are cut, never a failed
// write (Firestore refuses entities over 1 MiB).

import pino from 'pino';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { type AttemptLedger, systemClock } from '../../src/interfaces.ts';
import { builtinJobs } from '../../src/jobs/index.ts';
import { createRegistry } from '../../src/jobs/registry.ts';
import { createFirestoreLedger, lineageDocId } from '../../src/ledger/firestore-ledger.ts';
import { createMemoryLedger } from '../../src/ledger/memory-ledger.ts';
import { MAX_RECORD_BYTES } from '../../src/limits.ts';
import { RecordingNotifier, RecordingQueue, scriptedJob } from '../helpers/doubles.ts';
import { startGcloudEmulator } from '../helpers/gcloud-emulator.ts';

const PROJECT = 'hostile-limits';
const emulator = await startGcloudEmulator('firestore', { project: PROJECT });
t.teardown(() => emulator.stop());
process.env.FIRESTORE_EMULATOR_HOST = emulator.host;

const HUGE = 'x'.repeat(2_000_000);
const ledgers: Array<[string, () => AttemptLedger]> = [
  ['memory', () => createMemoryLedger()],
  ['firestore', () => createFirestoreLedger({ projectId: PROJECT, collectionPrefix: `limits${process.pid}-${Math.random().toString(36).slice(2, 8)}` })],
];

function setup(t: Test, ledger: AttemptLedger) {
  const config = loadConfig({ CHAIN: 'incoming:3', NOTIFY_ON: 'all', GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'l' }, 'dev');
  const notifier = new RecordingNotifier();
  const huge = scriptedJob('huge', async () => ({ state: 'failed', error: { code: 'Huge', message: HUGE, permanent: true }, result: { blob: HUGE } }));
  const built = buildApp(config, {
    ledger,
    queue: new RecordingQueue(),
    notifier,
    registry: createRegistry([...builtinJobs({ httpAllow: [], execCommands: [] }), huge]),
    clock: systemClock,
    logger: pino({ level: 'silent' }),
  });
  t.teardown(async () => {
    await built.app.close();
    await ledger.close();
  });
  return { app: built.app, notifier };
}

for (const [name, make] of ledgers) {
  t.test(`${name}: a 500-character id works on status, result, output and cancel`, async (t) => {
    const { app } = setup(t, make());
    const id = `a${'b'.repeat(498)}z`;
    t.equal(id.length, 500);
    const push = await app.inject({ method: 'POST', url: '/tasks', payload: { id, type: 'echo', data: 7 } });
    t.match(push.json(), { id, outcome: 'succeeded' });
    const status = await app.inject({ method: 'GET', url: `/v1/tasks/${id}` });
    t.equal(status.statusCode, 200);
    t.equal(status.json().id, id);
    const result = await app.inject({ method: 'GET', url: `/v1/tasks/${id}/result` });
    t.equal(result.statusCode, 200);
    t.same(result.json(), { data: 7, args: {} });
    const output = await app.inject({ method: 'GET', url: `/v1/tasks/${id}/output` });
    t.not(output.statusCode, 414, `output answers ${output.statusCode}, not 414`);
    const cancel = await app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel` });
    t.equal(cancel.statusCode, 409, 'already ended (not 414)');
    const other = `q${'r'.repeat(499)}`;
    t.equal((await app.inject({ method: 'GET', url: `/v1/tasks/${other}` })).statusCode, 404, 'unknown 500-character id: 404');
    t.equal((await app.inject({ method: 'POST', url: `/v1/tasks/${other}/cancel` })).statusCode, 404);
    t.equal((await app.inject({ method: 'GET', url: `/v1/tasks/${other}x` })).statusCode, 400, 'over 500 characters is a bad id, not a 414');
  });

  t.test(`${name}: a job's 2 MB error and result are cut in the record and the notification, and the lineage ends`, async (t) => {
    const { app, notifier } = setup(t, make());
    const res = await app.inject({ method: 'POST', url: '/tasks', payload: { id: `huge-${name}`, type: 'huge' } });
    t.equal(res.statusCode, 200);
    t.equal(res.json().outcome, 'failed');
    t.ok(res.body.length < 2048, 'the reply carries a cut of the error');
    const status = await app.inject({ method: 'GET', url: `/v1/tasks/huge-${name}` });
    t.equal(status.statusCode, 200);
    t.ok(Buffer.byteLength(status.body) <= MAX_RECORD_BYTES, `record of ${status.body.length} bytes`);
    const record = status.json();
    t.equal(record.state, 'failed');
    t.ok(Buffer.byteLength(record.error.message) <= 512);
    t.match(record.error.message, /…\[cut\]$/);
    const event = notifier.events.at(-1)!.event;
    t.ok(Buffer.byteLength(JSON.stringify(event)) <= MAX_RECORD_BYTES, 'the notification is bounded too');
    const again = await app.inject({ method: 'POST', url: '/tasks', payload: { id: `huge-${name}`, type: 'huge' } });
    t.equal(again.json().outcome, 'duplicate', 'a redelivery finds it ended');
  });
}

t.test('firestore document ids: reserved, dotted, slashed and very long ids are encoded, within 1,500 bytes', async (t) => {
  t.equal(lineageDocId('plain-id_1'), 'plain-id_1');
  for (const id of ['__x__', '.', '..', 'a/b', 'x'.repeat(1001), 'é'.repeat(2000)]) {
    const doc = lineageDocId(id);
    t.not(doc, id, `${id.slice(0, 10)} encoded`);
    t.ok(
      Buffer.byteLength(doc) <= 1500 && !doc.includes('/') && doc !== '.' && doc !== '..' && !/^__.*__$/.test(doc),
      `${doc.slice(0, 12)}… is a legal document id`,
    );
  }
  t.not(lineageDocId('é'.repeat(2000)), lineageDocId('é'.repeat(2001)), 'hashed ids stay distinct');
  const ledger = createFirestoreLedger({ projectId: PROJECT, collectionPrefix: `docids${process.pid}` });
  t.teardown(() => ledger.close());
  for (const id of ['__reserved__', 'y'.repeat(1600)]) {
    const begun = await ledger.begin({ id, tier: 0, queue: 'q', taskName: 't', headerAttempt: 1, maxAttempts: 3, now: Date.now() });
    t.equal(begun.duplicate, false);
    t.equal((await ledger.get(id))?.id, id, 'stored and read back under its real id');
  }
});
