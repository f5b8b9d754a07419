// The REST surface as plain HTTP: shapes, defaults, paging and Google's error JSON.
import t, { type Test } from 'tap';
import { ManualClock } from '../../src/emulator/clock.ts';
import { startEmulator } from '../../src/emulator/index.ts';
import { api, PARENT, startTarget } from './helpers.ts';

async function setup(t: Test, tombstoneMs?: number) {
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  const emu = await startEmulator({ clock, logger: false, tombstoneMs });
  // Tasks point at a target that accepts nothing fast: a paused queue keeps them listed.
  const target = await startTarget();
  t.teardown(async () => {
    await emu.close();
    await target.close();
  });
  return { clock, emu, target };
}

t.test('a created queue reports the Cloud Tasks defaults', async (t) => {
  const { emu } = await setup(t);
  const res = await api(emu.url, 'POST', `${PARENT}/queues?alt=json&prettyPrint=false&key=x&fields=name`, { name: `${PARENT}/queues/q1` });
  t.equal(res.status, 200);
  t.same(res.json, {
    name: `${PARENT}/queues/q1`,
    rateLimits: { maxDispatchesPerSecond: 500, maxBurstSize: 100, maxConcurrentDispatches: 1000 },
    retryConfig: { maxAttempts: 100, minBackoff: '0.100s', maxBackoff: '3600s', maxDoublings: 16 },
    state: 'RUNNING',
  });
  t.same((await api(emu.url, 'GET', `${PARENT}/queues/q1`)).json, res.json, 'get returns the same');
});

t.test('errors use Google JSON: ALREADY_EXISTS 409, NOT_FOUND 404, INVALID_ARGUMENT 400', async (t) => {
  const { emu } = await setup(t);
  await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/q1` });
  const dup = await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/q1` });
  t.equal(dup.status, 409);
  t.equal(dup.json.error.status, 'ALREADY_EXISTS');
  t.equal(dup.json.error.code, 409);
  t.type(dup.json.error.message, 'string');
  const missing = await api(emu.url, 'GET', `${PARENT}/queues/nope`);
  t.equal(missing.status, 404);
  t.equal(missing.json.error.status, 'NOT_FOUND');
  const bad = await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/bad_id` });
  t.equal(bad.status, 400);
  t.equal(bad.json.error.status, 'INVALID_ARGUMENT');
  const tooFast = await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/fast`, rateLimits: { maxDispatchesPerSecond: 501 } });
  t.equal(tooFast.json.error.status, 'INVALID_ARGUMENT');
  const backoffs = await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/b`, retryConfig: { minBackoff: '10s', maxBackoff: '5s' } });
  t.equal(backoffs.json.error.status, 'INVALID_ARGUMENT');
  const garbage = await fetch(`${emu.url}/v2/${PARENT}/queues`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
  t.equal(garbage.status, 400);
  t.equal(((await garbage.json()) as { error: { status: string } }).error.status, 'INVALID_ARGUMENT');
});

t.test('patch applies only the updateMask paths, in camelCase or snake_case, and creates a missing queue', async (t) => {
  const { emu } = await setup(t);
  await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/q1`, retryConfig: { maxAttempts: 5 } });
  const upd = await api(emu.url, 'PATCH', `${PARENT}/queues/q1?updateMask=retry_config.min_backoff,rateLimits.maxDispatchesPerSecond`, {
    retryConfig: { minBackoff: '2s', maxAttempts: 9 },
    rateLimits: { maxDispatchesPerSecond: 50 },
  });
  t.equal(upd.status, 200);
  t.equal(upd.json.retryConfig.minBackoff, '2s');
  t.equal(upd.json.retryConfig.maxAttempts, 5, 'not in the mask: unchanged');
  t.equal(upd.json.rateLimits.maxDispatchesPerSecond, 50);
  t.equal(upd.json.rateLimits.maxBurstSize, 10);
  const created = await api(emu.url, 'PATCH', `${PARENT}/queues/fresh?updateMask=retryConfig.maxAttempts`, { retryConfig: { maxAttempts: -1 } });
  t.equal(created.status, 200);
  t.equal(created.json.retryConfig.maxAttempts, -1);
  t.equal(created.json.rateLimits.maxConcurrentDispatches, 1000);
  const badMask = await api(emu.url, 'PATCH', `${PARENT}/queues/q1?updateMask=colour`, {});
  t.equal(badMask.json.error.status, 'INVALID_ARGUMENT');
});

t.test('queues list in pages and enums come back as numbers when the client asks', async (t) => {
  const { emu } = await setup(t);
  for (const id of ['a', 'b', 'c']) await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/${id}` });
  await api(emu.url, 'POST', `projects/other/locations/us-central1/queues`, { name: `projects/other/locations/us-central1/queues/z` });
  const p1 = await api(emu.url, 'GET', `${PARENT}/queues?pageSize=2&$alt=json%3Benum-encoding=int`);
  t.same(
    p1.json.queues.map((q: { name: string }) => q.name.split('/').pop()),
    ['a', 'b'],
  );
  t.equal(p1.json.queues[0].state, 1, 'RUNNING as a number');
  const p2 = await api(emu.url, 'GET', `${PARENT}/queues?pageSize=2&pageToken=${p1.json.nextPageToken}`);
  t.same(
    p2.json.queues.map((q: { name: string }) => q.name.split('/').pop()),
    ['c'],
  );
  t.equal(p2.json.nextPageToken, undefined);
  t.equal(p2.json.queues[0].state, 'RUNNING');
});

t.test('pause, resume, purge and delete change the queue as Cloud Tasks does', async (t) => {
  const { emu, target } = await setup(t);
  await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/q1` });
  t.equal((await api(emu.url, 'POST', `${PARENT}/queues/q1:pause`, {})).json.state, 'PAUSED');
  await api(emu.url, 'POST', `${PARENT}/queues/q1/tasks`, { task: { name: `${PARENT}/queues/q1/tasks/x`, httpRequest: { url: target.url } } });
  const purged = await api(emu.url, 'POST', `${PARENT}/queues/q1:purge`, {});
  t.type(purged.json.purgeTime, 'string');
  t.same((await api(emu.url, 'GET', `${PARENT}/queues/q1/tasks`)).json, { tasks: [] });
  const reuse = await api(emu.url, 'POST', `${PARENT}/queues/q1/tasks`, { task: { name: `${PARENT}/queues/q1/tasks/x`, httpRequest: { url: target.url } } });
  t.equal(reuse.json.error.status, 'ALREADY_EXISTS', 'purged names stay taken');
  t.equal((await api(emu.url, 'POST', `${PARENT}/queues/q1:resume`, {})).json.state, 'RUNNING');
  t.same((await api(emu.url, 'DELETE', `${PARENT}/queues/q1`)).json, {});
  t.equal((await api(emu.url, 'GET', `${PARENT}/queues/q1`)).status, 404);
  t.equal((await api(emu.url, 'POST', `${PARENT}/queues/q1/tasks`, { task: { httpRequest: { url: target.url } } })).status, 404);
});

t.test('tasks: named and unnamed, BASIC and FULL views, list paging, delete with tombstone', async (t) => {
  const { emu, target, clock } = await setup(t, 60_000);
  await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/q1` });
  await api(emu.url, 'POST', `${PARENT}/queues/q1:pause`, {});
  const body = Buffer.from('payload').toString('base64');
  const named = await api(emu.url, 'POST', `${PARENT}/queues/q1/tasks`, {
    task: { name: `${PARENT}/queues/q1/tasks/n1`, httpRequest: { url: target.url, body } },
    responseView: 'FULL',
  });
  t.equal(named.json.name, `${PARENT}/queues/q1/tasks/n1`);
  t.equal(named.json.httpRequest.body, body);
  t.equal(named.json.httpRequest.httpMethod, 'POST', 'POST by default');
  t.equal(named.json.view, 'FULL');
  t.equal(named.json.dispatchDeadline, '600s');
  const unnamed = await api(emu.url, 'POST', `${PARENT}/queues/q1/tasks`, { task: { httpRequest: { url: target.url, body } } });
  t.match(unnamed.json.name, new RegExp(`^${PARENT}/queues/q1/tasks/\\d+$`));
  t.equal(unnamed.json.httpRequest.body, undefined, 'BASIC omits the body');
  t.equal(unnamed.json.view, 'BASIC');
  t.equal((await api(emu.url, 'GET', `${PARENT}/queues/q1/tasks/n1?responseView=FULL`)).json.httpRequest.body, body);
  t.equal((await api(emu.url, 'GET', `${PARENT}/queues/q1/tasks/n1?responseView=2`)).json.httpRequest.body, body, 'view by number');
  await api(emu.url, 'POST', `${PARENT}/queues/q1/tasks`, { task: { httpRequest: { url: target.url } } });
  const p1 = await api(emu.url, 'GET', `${PARENT}/queues/q1/tasks?pageSize=2`);
  t.equal(p1.json.tasks.length, 2);
  const p2 = await api(emu.url, 'GET', `${PARENT}/queues/q1/tasks?pageSize=2&pageToken=${p1.json.nextPageToken}`);
  t.equal(p2.json.tasks.length, 1);
  t.equal(p2.json.nextPageToken, undefined);
  t.same((await api(emu.url, 'DELETE', `${PARENT}/queues/q1/tasks/n1`)).json, {});
  t.equal((await api(emu.url, 'DELETE', `${PARENT}/queues/q1/tasks/n1`)).json.error.status, 'NOT_FOUND');
  const again = await api(emu.url, 'POST', `${PARENT}/queues/q1/tasks`, { task: { name: `${PARENT}/queues/q1/tasks/n1`, httpRequest: { url: target.url } } });
  t.equal(again.json.error.status, 'ALREADY_EXISTS', 'a deleted name is tombstoned');
  clock.advance(60_000);
  const later = await api(emu.url, 'POST', `${PARENT}/queues/q1/tasks`, { task: { name: `${PARENT}/queues/q1/tasks/n1`, httpRequest: { url: target.url } } });
  t.equal(later.status, 200, 'reusable once the tombstone window passed');
});

t.test('task validation: size, schedule horizon, body methods, ids and deadlines', async (t) => {
  const { emu, target, clock } = await setup(t);
  await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/q1` });
  const create = (task: Record<string, unknown>) => api(emu.url, 'POST', `${PARENT}/queues/q1/tasks`, { task: { httpRequest: { url: target.url }, ...task } });
  const big = await create({ httpRequest: { url: target.url, body: Buffer.alloc(1024 * 1024 + 1).toString('base64') } });
  t.equal(big.json.error.status, 'INVALID_ARGUMENT', 'over 1 MiB');
  const fine = await create({ httpRequest: { url: target.url, body: Buffer.alloc(1000 * 1024).toString('base64') } });
  t.equal(fine.status, 200, 'under 1 MiB');
  const far = await create({ scheduleTime: new Date(clock.now() + 31 * 24 * 3600 * 1000).toISOString() });
  t.equal(far.json.error.status, 'INVALID_ARGUMENT', 'more than 30 days ahead');
  const near = await create({ scheduleTime: new Date(clock.now() + 29 * 24 * 3600 * 1000).toISOString() });
  t.equal(near.status, 200);
  const getBody = await create({ httpRequest: { url: target.url, httpMethod: 'GET', body: 'aGk=' } });
  t.equal(getBody.json.error.status, 'INVALID_ARGUMENT', 'no body with GET');
  t.equal((await create({ name: `${PARENT}/queues/q1/tasks/bad.id` })).json.error.status, 'INVALID_ARGUMENT');
  t.equal((await create({ name: `projects/x/locations/y/queues/z/tasks/a` })).json.error.status, 'INVALID_ARGUMENT');
  t.equal((await create({ dispatchDeadline: '5s' })).json.error.status, 'INVALID_ARGUMENT');
  t.equal((await create({ httpRequest: { url: 'ftp://x' } })).json.error.status, 'INVALID_ARGUMENT');
  t.equal(
    (await api(emu.url, 'POST', `${PARENT}/queues/q1/tasks`, { task: { appEngineHttpRequest: { relativeUri: '/' } } })).json.error.status,
    'FAILED_PRECONDITION',
    'App Engine task without EMULATOR_APP_ENGINE_URL',
  );
});

t.test('the emulator is an OIDC issuer at its own base URL', async (t) => {
  const { emu } = await setup(t);
  const res = await fetch(`${emu.url}/.well-known/openid-configuration`);
  t.equal(res.status, 200);
  const doc = (await res.json()) as { issuer: string };
  t.equal(doc.issuer, emu.url);
});

t.test('ensureQueue creates a queue, then updates only the given retry fields', async (t) => {
  const { emu } = await setup(t);
  await emu.ensureQueue('test-project', 'us-central1', 'tier', { maxAttempts: 3, minBackoff: '1s' });
  await emu.ensureQueue('test-project', 'us-central1', 'tier', { maxBackoff: '5s' });
  await emu.ensureQueue('test-project', 'us-central1', 'tier');
  const q = (await api(emu.url, 'GET', `${PARENT}/queues/tier`)).json;
  t.same(q.retryConfig, { maxAttempts: 3, minBackoff: '1s', maxBackoff: '5s', maxDoublings: 16 });
});
