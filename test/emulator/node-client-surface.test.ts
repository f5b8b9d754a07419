// The official @google-cloud/tasks client in REST mode, v2 and v2beta3:
// Google's App Engine quickstart shape, httpTarget, IAM, CMEK and locations.

import { v2, v2beta3 } from '@google-cloud/tasks';
import { GoogleAuth, PassThroughClient } from 'google-auth-library';
import t from 'tap';
import { startEmulator } from '../../src/emulator/index.ts';
import { PARENT, startTarget, waitFor } from './helpers.ts';

const target = await startTarget();
const emu = await startEmulator({ logger: false, appEngineUrl: `${target.url}/app`, locations: ['europe-west1'] });
const opts = {
  fallback: true,
  apiEndpoint: '127.0.0.1',
  port: emu.port,
  protocol: 'http',
  // The README's recipe: getProjectId() answers without Google credentials.
  auth: new GoogleAuth({ authClient: new PassThroughClient(), projectId: 'test-project' }),
} as never;
const c2 = new v2.CloudTasksClient(opts);
const c3 = new v2beta3.CloudTasksClient(opts);
t.teardown(async () => {
  await c2.close();
  await c3.close();
  await emu.close();
  await target.close();
});

t.test("v2: an App Engine task as in Google's quickstart reaches the local app; IAM; locations", async (t) => {
  t.equal(await c2.getProjectId(), 'test-project');
  const parent = c2.queuePath('test-project', 'us-central1', 'quick');
  await c2.createQueue({ parent: PARENT, queue: { name: parent } });
  const [task] = await c2.createTask({
    parent,
    task: {
      appEngineHttpRequest: { httpMethod: 'POST', relativeUri: '/log_payload', body: Buffer.from('hello').toString('base64') },
      scheduleTime: { seconds: Math.floor(Date.now() / 1000) },
    },
  });
  t.equal(task.appEngineHttpRequest?.relativeUri, '/log_payload');
  t.equal(task.appEngineHttpRequest?.appEngineRouting?.host, 'test-project.appspot.com');
  await waitFor(() => target.pushes.some((p) => p.url === '/app/log_payload'), 20_000);
  const push = target.pushes.find((p) => p.url === '/app/log_payload')!;
  t.equal(push.body.toString(), 'hello');
  t.equal(push.headers['x-appengine-queuename'], 'quick');

  const [empty] = await c2.getIamPolicy({ resource: parent });
  t.equal(Buffer.from(empty.etag as Uint8Array).toString('base64'), 'ACAB');
  const [set] = await c2.setIamPolicy({
    resource: parent,
    policy: { bindings: [{ role: 'roles/cloudtasks.enqueuer', members: ['user:a@example.com'] }], etag: empty.etag },
  });
  t.same(
    set.bindings?.map((b) => b.role),
    ['roles/cloudtasks.enqueuer'],
  );
  await t.rejects(c2.setIamPolicy({ resource: parent, policy: { bindings: [], etag: empty.etag } }), { code: 10 }, 'ABORTED on a stale etag');
  const [perms] = await c2.testIamPermissions({ resource: parent, permissions: ['cloudtasks.tasks.create', 'cloudtasks.queues.get'] });
  t.same(perms.permissions, ['cloudtasks.tasks.create', 'cloudtasks.queues.get']);
  const ids: string[] = [];
  for await (const l of c2.listLocationsAsync({ name: 'projects/test-project' })) ids.push(l.locationId!);
  t.same(ids, ['europe-west1', 'us-central1']);
  // Typed as a Location, answered as [Location] like every other method.
  const got = (await c2.getLocation({ name: 'projects/test-project/locations/europe-west1' })) as unknown;
  t.equal((Array.isArray(got) ? got[0] : got).locationId, 'europe-west1');
});

t.test('v2beta3: queue type, appEngineHttpQueue, httpTarget, pull tasks, CMEK', async (t) => {
  const name = c3.queuePath('test-project', 'us-central1', 'beta');
  const port = Number(new URL(target.url).port);
  const [q] = await c3.createQueue({
    parent: PARENT,
    queue: {
      name,
      appEngineHttpQueue: { appEngineRoutingOverride: { service: 'jobs' } },
      httpTarget: {
        uriOverride: { scheme: 'HTTP', host: '127.0.0.1', port, pathOverride: { path: '/beta-target' } },
        headerOverrides: [{ header: { key: 'X-B', value: '3' } }],
      },
    },
  });
  t.equal(q.type, 'PUSH');
  t.equal(q.appEngineHttpQueue?.appEngineRoutingOverride?.host, 'jobs.test-project.appspot.com');
  t.equal(Number(q.httpTarget?.uriOverride?.port), port);
  t.equal(q.httpTarget?.uriOverride?.uriOverrideEnforceMode, 'ALWAYS');
  // The Cloud Functions tutorial's task shape.
  await c3.createTask({
    parent: name,
    task: {
      httpRequest: {
        httpMethod: 'POST',
        url: 'https://example.invalid/fn',
        headers: { 'Content-Type': 'application/json' },
        body: Buffer.from('{"x":1}').toString('base64'),
      },
    },
  });
  await waitFor(() => target.pushes.some((p) => p.url === '/beta-target'), 20_000);
  const p = target.pushes.find((x) => x.url === '/beta-target')!;
  t.equal(p.headers['x-b'], '3');
  t.equal(p.headers['content-type'], 'application/json');

  const [upd] = await c3.updateQueue({ queue: { name, httpTarget: { httpMethod: 'PUT' } }, updateMask: { paths: ['http_target.http_method'] } });
  t.equal(upd.httpTarget?.httpMethod, 'PUT');
  t.equal(upd.httpTarget?.uriOverride?.host, '127.0.0.1', 'the rest of httpTarget kept');

  const pullName = c3.queuePath('test-project', 'us-central1', 'pull');
  const [pq] = await c3.createQueue({ parent: PARENT, queue: { name: pullName, type: 'PULL' } });
  t.equal(pq.type, 'PULL');
  const [pt] = await c3.createTask({ parent: pullName, task: { pullMessage: { payload: Buffer.from('data'), tag: 't' } }, responseView: 'FULL' });
  t.equal(Buffer.from(pt.pullMessage?.payload as Uint8Array).toString(), 'data');
  const [listed] = await c3.listTasks({ parent: pullName });
  t.equal(listed.length, 1, 'pull tasks stay until deleted');

  const cmekName = c3.cmekConfigPath('test-project', 'us-central1');
  const [before] = await c3.getCmekConfig({ name: cmekName });
  t.equal(before.kmsKey, '');
  const kmsKey = 'projects/test-project/locations/us-central1/keyRings/r/cryptoKeys/k';
  const [after] = await c3.updateCmekConfig({ cmekConfig: { name: cmekName, kmsKey } });
  t.equal(after.kmsKey, kmsKey);
  const [policy] = await c3.getIamPolicy({ resource: name });
  t.equal(Buffer.from(policy.etag as Uint8Array).toString('base64'), 'ACAB');
});
