// Blob references are scoped to their lineage: a task may read only its own
// payload, or a reference signed for it with BLOB_REF_KEY.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.ts';
import { createLocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { scopeDataRef } from '../../src/blobs/ref-scope.ts';
import { Executor, signDataRef } from '../../src/client/index.ts';
import { loadConfig } from '../../src/config.ts';
import { systemClock } from '../../src/interfaces.ts';
import { builtinJobs } from '../../src/jobs/index.ts';
import { createRegistry } from '../../src/jobs/registry.ts';
import { createMemoryLedger } from '../../src/ledger/memory-ledger.ts';
import { RecordingNotifier, RecordingQueue } from '../helpers/doubles.ts';

const KEY = 'k'.repeat(40);

async function setup(t: Test, env: Record<string, string> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'ref-scope-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const blobs = createLocalBlobStore({ dir });
  const ledger = createMemoryLedger();
  const config = loadConfig({ BLOB_DIR: dir, ...env }, 'dev');
  const built = buildApp(config, {
    ledger,
    notifier: new RecordingNotifier(),
    blobs,
    registry: createRegistry(builtinJobs({ httpAllow: [], execCommands: [] })),
    clock: systemClock,
    logger: pino({ level: 'silent' }),
  });
  t.teardown(() => built.app.close());
  const push = (envelope: unknown) => built.app.inject({ method: 'POST', url: '/tasks', payload: JSON.stringify(envelope) });
  const get = (path: string) => built.app.inject({ method: 'GET', url: path });
  return { dir, blobs, push, get };
}

t.test("another lineage's payload is refused permanently and left in place; its owner still reads it", async (t) => {
  const s = await setup(t);
  const refA = await s.blobs.put('payloads/lineage-a.json', Buffer.from(JSON.stringify({ secret: 1 })));
  const b = await s.push({ id: 'lineage-b', type: 'echo', dataRef: refA });
  t.equal(b.statusCode, 200);
  t.match(b.json(), { outcome: 'failed', error: { code: 'BlobRefRefused', permanent: true } });
  t.ok(existsSync(fileURLToPath(refA)), "A's payload was not deleted");
  const a = await s.push({ id: 'lineage-a', type: 'echo', dataRef: refA });
  t.match(a.json(), { outcome: 'succeeded' });
  t.same((await s.get('/v1/tasks/lineage-a/result')).json(), { data: { secret: 1 }, args: {} });
  t.notOk(existsSync(fileURLToPath(refA)), 'the owner deletes its own payload when it ends');
});

t.test("another lineage's output is refused and stays readable through its own lineage", async (t) => {
  const s = await setup(t);
  const big = 'o'.repeat(100_000); // over the inline result limit: goes to outputs/<id>.json
  t.match((await s.push({ id: 'owner', type: 'echo', data: big })).json(), { outcome: 'succeeded' });
  const record = (await s.get('/v1/tasks/owner')).json() as { outputRef?: string };
  t.match(record.outputRef, /outputs\/owner\.json$/);
  const thief = await s.push({ id: 'thief', type: 'echo', dataRef: record.outputRef });
  t.match(thief.json(), { outcome: 'failed', error: { code: 'BlobRefRefused' } });
  const out = await s.get('/v1/tasks/owner/result');
  t.equal(out.statusCode, 200, 'the output is still there');
  t.equal((out.json() as { data: string }).data.length, big.length);
});

t.test('a reference signed for the lineage with BLOB_REF_KEY is honoured and not deleted; wrong lineage or no key is refused', async (t) => {
  const s = await setup(t, { BLOB_REF_KEY: KEY });
  const shared = await s.blobs.put('shared/table.json', Buffer.from('[1,2,3]'));
  const ok = await s.push({ id: 'reader', type: 'echo', dataRef: signDataRef(shared, 'reader', KEY) });
  t.match(ok.json(), { outcome: 'succeeded' });
  t.same(((await s.get('/v1/tasks/reader/result')).json() as { data: unknown }).data, [1, 2, 3]);
  t.ok(existsSync(fileURLToPath(shared)), 'a signed (shared) blob is not deleted');
  const stolen = await s.push({ id: 'other', type: 'echo', dataRef: signDataRef(shared, 'reader', KEY) });
  t.match(stolen.json(), { outcome: 'failed', error: { code: 'BlobRefRefused' } }, 'signed for another lineage');
  const forged = await s.push({ id: 'forger', type: 'echo', dataRef: signDataRef(shared, 'forger', 'x'.repeat(40)) });
  t.match(forged.json(), { outcome: 'failed', error: { code: 'BlobRefRefused' } }, 'signed with another key');
  const unsigned = await s.push({ id: 'plain', type: 'echo', dataRef: shared });
  t.match(unsigned.json(), { outcome: 'failed', error: { code: 'BlobRefRefused' } }, 'unsigned and not its own');
});

t.test('without BLOB_REF_KEY a signed reference is refused', async (t) => {
  const s = await setup(t);
  const shared = await s.blobs.put('shared/x.json', Buffer.from('1'));
  t.throws(() => scopeDataRef(s.blobs, signDataRef(shared, 'r', KEY), 'r', undefined), { code: 'BlobRefRefused', permanent: true });
});

t.test("the SDK's offloaded payload passes the scope check of the worker that shares its store", async (t) => {
  const s = await setup(t);
  const queue = new RecordingQueue();
  const exe = new Executor({ project: 'p', location: 'l', serviceUrl: 'http://svc.test', taskQueue: queue, blobs: s.blobs, offloadThresholdBytes: 1024 });
  const big = { text: 'x'.repeat(4096) };
  const result = await exe.enqueue({ type: 'echo', id: 'sdk-big', data: big });
  t.match(result.dataRef, /^file:\/\//);
  const res = await s.push(JSON.parse(queue.created[0]!.body.toString()));
  t.match(res.json(), { outcome: 'succeeded' });
  t.same(((await s.get('/v1/tasks/sdk-big/result')).json() as { data: unknown }).data, big);
});

t.test('in a bucket, only the lineage own payload key under the store prefix is its own', async (t) => {
  const { createGcsBlobStore } = await import('../../src/blobs/gcs-blob-store.ts');
  const store = createGcsBlobStore({ bucket: 'b' });
  t.equal(scopeDataRef(store, 'gs://b/payloads/payloads/l1.json', 'l1', undefined).scope, 'own', 'SDK key');
  t.equal(scopeDataRef(store, 'gs://b/payloads/payloads/l1', 'l1', undefined).scope, 'own', 'forwarder key');
  for (const ref of [
    'gs://b/payloads/payloads/l2.json',
    'gs://b/payloads/outputs/l1.json',
    'gs://other/payloads/payloads/l1.json',
    'gs://b/elsewhere/payloads/l1.json',
  ]) {
    t.throws(() => scopeDataRef(store, ref, 'l1', undefined), { code: 'BlobRefRefused', permanent: true }, ref);
  }
  t.equal(
    scopeDataRef(store, signDataRef('gs://b/payloads/shared', 'l1', KEY), 'l1', KEY).ref,
    'gs://b/payloads/shared',
    'a signed ref is handed on without its signature',
  );
});
