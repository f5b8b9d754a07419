// Raw REST: strict JSON like Google's front end, snake_case names, v2beta3
// shapes, IAM policies, cmekConfig and locations.
import t, { type Test } from 'tap';
import { startEmulator } from '../../src/emulator/index.ts';
import { PARENT, startTarget } from './helpers.ts';

async function setup(t: Test, opts: Parameters<typeof startEmulator>[0] = {}) {
  const emu = await startEmulator({ logger: false, ...opts });
  const target = await startTarget();
  t.teardown(async () => {
    await emu.close();
    await target.close();
  });
  return { emu, target };
}

/** REST call on any API version. */
async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as any };
}

t.test("an unknown field is 400 INVALID_ARGUMENT naming it, where it is, in Google's words", async (t) => {
  const { emu, target } = await setup(t);
  await call(emu.url, 'POST', `v2/${PARENT}/queues`, { name: `${PARENT}/queues/q1` });
  const typo = await call(emu.url, 'POST', `v2/${PARENT}/queues/q1/tasks`, {
    task: { httpRequest: { url: target.url }, scheduledTime: '2030-01-01T00:00:00Z' },
  });
  t.equal(typo.status, 400);
  t.equal(typo.json.error.status, 'INVALID_ARGUMENT');
  t.equal(typo.json.error.message, 'Invalid JSON payload received. Unknown name "scheduledTime" at \'task\': Cannot find field.');
  t.same(typo.json.error.details, [
    {
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      fieldViolations: [{ field: 'task', description: 'Invalid JSON payload received. Unknown name "scheduledTime" at \'task\': Cannot find field.' }],
    },
  ]);
  t.equal((await call(emu.url, 'GET', `v2/${PARENT}/queues/q1/tasks`)).json.tasks.length, 0, 'nothing was created');

  const nested = await call(emu.url, 'POST', `v2/${PARENT}/queues`, { name: `${PARENT}/queues/q2`, retryConfig: { maxAttempt: 3 }, rateLimit: {} });
  t.equal(nested.status, 400);
  t.equal(
    nested.json.error.message,
    'Invalid JSON payload received. Unknown name "maxAttempt" at \'queue.retry_config\': Cannot find field.\nInvalid JSON payload received. Unknown name "rateLimit" at \'queue\': Cannot find field.',
    'every unknown name, one line each',
  );
  t.equal((await call(emu.url, 'GET', `v2/${PARENT}/queues/q2`)).status, 404, 'the queue was not created');

  const top = await call(emu.url, 'POST', `v2/${PARENT}/queues/q1/tasks`, { tsak: {} });
  t.equal(top.json.error.message, 'Invalid JSON payload received. Unknown name "tsak": Cannot find field.');
  const badType = await call(emu.url, 'POST', `v2/${PARENT}/queues`, { name: `${PARENT}/queues/q3`, retryConfig: { maxAttempts: 'many' } });
  t.equal(badType.status, 400);
  t.match(badType.json.error.message, /^Invalid value at 'queue\.retry_config\.max_attempts' \(TYPE_INT32\), "many"$/);
  const badEnum = await call(emu.url, 'POST', `v2/${PARENT}/queues/q1/tasks`, { task: { httpRequest: { url: target.url, httpMethod: 'FETCH' } } });
  t.equal(badEnum.status, 400);
  t.match(badEnum.json.error.message, /task\.http_request\.http_method/);
  const patch = await call(emu.url, 'PATCH', `v2/${PARENT}/queues/q1?updateMask=retryConfig.maxAttempts`, { retryConfig: { maxAttempts: 4, maxDoubling: 1 } });
  t.equal(patch.status, 400, 'patch bodies are strict too');
  t.equal((await call(emu.url, 'GET', `v2/${PARENT}/queues/q1`)).json.retryConfig.maxAttempts, 100, 'unchanged');
});

t.test('snake_case names are accepted everywhere and answered in camelCase', async (t) => {
  const { emu, target } = await setup(t);
  const q = await call(emu.url, 'POST', `v2/${PARENT}/queues`, {
    name: `${PARENT}/queues/snake`,
    retry_config: { max_attempts: 3, min_backoff: '2s' },
    rate_limits: { max_dispatches_per_second: 7 },
  });
  t.equal(q.status, 200, JSON.stringify(q.json));
  t.equal(q.json.retryConfig.maxAttempts, 3);
  t.equal(q.json.retryConfig.minBackoff, '2s');
  t.equal(q.json.rateLimits.maxDispatchesPerSecond, 7);
  await call(emu.url, 'POST', `v2/${PARENT}/queues/snake:pause`, {});
  const at = new Date(Date.now() + 3600_000).toISOString();
  const task = await call(emu.url, 'POST', `v2/${PARENT}/queues/snake/tasks`, {
    task: {
      name: `${PARENT}/queues/snake/tasks/s1`,
      http_request: { url: target.url, http_method: 'PUT', body: 'aGk=', oidc_token: { service_account_email: 'a@b.iam.gserviceaccount.com' } },
      schedule_time: at,
      dispatch_deadline: '30s',
    },
    response_view: 'FULL',
  });
  t.equal(task.status, 200, JSON.stringify(task.json));
  t.equal(task.json.httpRequest.httpMethod, 'PUT');
  t.equal(task.json.httpRequest.body, 'aGk=');
  t.same(task.json.httpRequest.oidcToken, { serviceAccountEmail: 'a@b.iam.gserviceaccount.com' });
  t.equal(task.json.scheduleTime, at);
  t.equal(task.json.dispatchDeadline, '30s');
  const upd = await call(emu.url, 'PATCH', `v2/${PARENT}/queues/snake?update_mask=retry_config.max_doublings`, { retry_config: { max_doublings: 2 } });
  t.equal(upd.json.retryConfig.maxDoublings, 2);
  t.equal(upd.json.retryConfig.maxAttempts, 3, 'update_mask (snake_case query parameter) applied');
  const full = await call(emu.url, 'GET', `v2/${PARENT}/queues/snake/tasks/s1?response_view=FULL`);
  t.equal(full.json.view, 'FULL');
});

t.test('v2beta3 is served beside v2 with its own shapes over the same queues', async (t) => {
  const { emu, target } = await setup(t);
  const created = await call(emu.url, 'POST', `v2beta3/${PARENT}/queues`, {
    name: `${PARENT}/queues/b3`,
    appEngineHttpQueue: { appEngineRoutingOverride: { service: 'worker' } },
    taskTtl: '864000s',
  });
  t.equal(created.status, 200, JSON.stringify(created.json));
  t.equal(created.json.type, 'PUSH');
  t.equal(created.json.taskTtl, '864000s');
  t.equal(created.json.tombstoneTtl, '3600s');
  t.same(created.json.appEngineHttpQueue, { appEngineRoutingOverride: { service: 'worker', host: 'worker.test-project.appspot.com' } });
  const v2 = await call(emu.url, 'GET', `v2/${PARENT}/queues/b3`);
  t.same(v2.json.appEngineRoutingOverride, { service: 'worker', host: 'worker.test-project.appspot.com' }, 'v2 shows the override flat');
  t.equal(v2.json.type, undefined, 'v2 has no queue type');
  t.equal(v2.json.appEngineHttpQueue, undefined);
  const v2unknown = await call(emu.url, 'POST', `v2/${PARENT}/queues`, { name: `${PARENT}/queues/x`, type: 'PULL' });
  t.equal(v2unknown.status, 400, 'type is a v2beta3 field only');

  const stats = await call(emu.url, 'GET', `v2beta3/${PARENT}/queues/b3?readMask=stats`);
  t.equal(stats.json.stats.tasksCount, '0');

  const pull = await call(emu.url, 'POST', `v2beta3/${PARENT}/queues`, { name: `${PARENT}/queues/pullq`, type: 'PULL' });
  t.equal(pull.json.type, 'PULL');
  const pt = await call(emu.url, 'POST', `v2beta3/${PARENT}/queues/pullq/tasks`, {
    task: { pullMessage: { payload: 'cGF5bG9hZA==', tag: 'red' } },
    responseView: 'FULL',
  });
  t.equal(pt.status, 200, JSON.stringify(pt.json));
  t.same(pt.json.pullMessage, { payload: 'cGF5bG9hZA==', tag: 'red' });
  const wrong = await call(emu.url, 'POST', `v2beta3/${PARENT}/queues/pullq/tasks`, { task: { httpRequest: { url: target.url } } });
  t.equal(wrong.json.error.status, 'FAILED_PRECONDITION', 'a pull queue takes pull tasks only');
  const pullInV2 = await call(emu.url, 'POST', `v2/${PARENT}/queues/b3/tasks`, { task: { pullMessage: {} } });
  t.equal(pullInV2.status, 400, 'v2 has no pullMessage');
  const immutable = await call(emu.url, 'PATCH', `v2beta3/${PARENT}/queues/pullq?updateMask=type`, { type: 'PUSH' });
  t.equal(immutable.json.error.status, 'INVALID_ARGUMENT', 'type cannot change');
  const clear = await call(emu.url, 'PATCH', `v2beta3/${PARENT}/queues/b3?updateMask=appEngineHttpQueue.appEngineRoutingOverride`, { appEngineHttpQueue: {} });
  t.equal(clear.json.appEngineHttpQueue, undefined, 'an empty override clears it');
});

t.test('IAM: an empty policy at once, set with etag checks, test permissions', async (t) => {
  const { emu } = await setup(t);
  const q = `v2/${PARENT}/queues/iq`;
  await call(emu.url, 'POST', `v2/${PARENT}/queues`, { name: `${PARENT}/queues/iq` });
  const empty = await call(emu.url, 'POST', `${q}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } });
  t.equal(empty.status, 200);
  t.same(empty.json, { version: 1, etag: 'ACAB' });
  const binding = { role: 'roles/cloudtasks.enqueuer', members: ['serviceAccount:sa@test-project.iam.gserviceaccount.com'] };
  const set = await call(emu.url, 'POST', `${q}:setIamPolicy`, { policy: { bindings: [binding], etag: 'ACAB' } });
  t.equal(set.status, 200, JSON.stringify(set.json));
  t.same(set.json.bindings, [binding]);
  t.not(set.json.etag, 'ACAB', 'a new etag');
  t.same((await call(emu.url, 'POST', `${q}:getIamPolicy`, {})).json, set.json, 'stored');
  const stale = await call(emu.url, 'POST', `${q}:setIamPolicy`, { policy: { bindings: [], etag: 'ACAB' } });
  t.equal(stale.status, 409);
  t.equal(stale.json.error.status, 'ABORTED', 'a stale etag is a concurrent change');
  const badRole = await call(emu.url, 'POST', `${q}:setIamPolicy`, { policy: { bindings: [{ role: 'enqueuer', members: ['user:a@b.c'] }] } });
  t.equal(badRole.json.error.status, 'INVALID_ARGUMENT');
  const perms = await call(emu.url, 'POST', `${q}:testIamPermissions`, { permissions: ['cloudtasks.tasks.create', 'storage.objects.get'] });
  t.same(perms.json, { permissions: ['cloudtasks.tasks.create'] });
  const missing = await call(emu.url, 'POST', `v2/${PARENT}/queues/nope:getIamPolicy`, {});
  t.equal(missing.json.error.status, 'NOT_FOUND');
});

t.test('cmekConfig is stored and returned; locations include the configured one', async (t) => {
  const { emu } = await setup(t, { locations: ['europe-west1'] });
  const loc = 'projects/test-project/locations/europe-west1';
  t.same((await call(emu.url, 'GET', `v2/${loc}/cmekConfig`)).json, { name: `${loc}/cmekConfig` });
  const key = `projects/test-project/locations/europe-west1/keyRings/r/cryptoKeys/k`;
  const upd = await call(emu.url, 'PATCH', `v2/${loc}/cmekConfig`, { kmsKey: key });
  t.same(upd.json, { name: `${loc}/cmekConfig`, kmsKey: key });
  t.same((await call(emu.url, 'GET', `v2beta3/${loc}/cmekConfig`)).json, upd.json);
  const elsewhere = await call(emu.url, 'PATCH', `v2/${loc}/cmekConfig`, { kmsKey: 'projects/test-project/locations/us-east1/keyRings/r/cryptoKeys/k' });
  t.equal(elsewhere.json.error.status, 'INVALID_ARGUMENT', 'the key must be in the same location');
  t.same((await call(emu.url, 'PATCH', `v2/${loc}/cmekConfig`, { kmsKey: '' })).json, { name: `${loc}/cmekConfig` }, 'cleared');
  const locations = await call(emu.url, 'GET', 'v2/projects/test-project/locations');
  t.same(
    locations.json.locations.map((l: { locationId: string }) => l.locationId),
    ['europe-west1', 'us-central1'],
  );
  t.same((await call(emu.url, 'GET', `v2/${loc}`)).json, { name: loc, locationId: 'europe-west1' });
});
