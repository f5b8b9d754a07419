// The installed gcloud, unmodified: App Engine tasks, queue HTTP overrides,
// buffer, IAM, cmek-config, locations, and the beta track (v2beta3).
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../../src/emulator/index.ts';
import { gcloudFor } from './gcloud-cli.ts';
import { api, PARENT, startTarget, waitFor } from './helpers.ts';

const LOC = '--location=us-central1';

// One emulator, one push target and one gcloud config for the file: each gcloud call costs about a second.
const target = await startTarget();
const emu = await startEmulator({ logger: false, appEngineUrl: `${target.url}/gae` });
const gcloud = await gcloudFor(emu.url);
const port = new URL(target.url).port;
t.teardown(async () => {
  gcloud.cleanup();
  await emu.close();
  await target.close();
});

const ok = (t: Test, r: { code: number; stderr: string }, what: string) => t.equal(r.code, 0, `${what}: ${r.stderr}`);

t.test('create-app-engine-task reaches the local app with the App Engine headers; routing overrides', async (t) => {
  const [a, b] = await Promise.all([
    gcloud.run('tasks', 'queues', 'create', 'aeq', LOC),
    gcloud.run('tasks', 'queues', 'create', 'routed', LOC, '--routing-override=service:svc,version:v2'),
  ]);
  ok(t, a, 'create aeq');
  ok(t, b, 'create routed');
  const made = await gcloud.run('tasks', 'create-app-engine-task', 'ae1', '--queue=aeq', LOC, '--relative-uri=/work', '--routing=service:jobs', '--header=X-A: 1', '--body-content=hello', '--method=PUT');
  ok(t, made, 'create-app-engine-task');
  await waitFor(() => target.pushes.some((p) => p.headers['x-appengine-taskname'] === 'ae1'), 20_000);
  const p = target.pushes.find((x) => x.headers['x-appengine-taskname'] === 'ae1')!;
  t.equal(p.url, '/gae/work');
  t.equal(p.method, 'PUT');
  t.equal(p.body.toString(), 'hello');
  t.equal(p.headers['x-a'], '1');
  t.equal(p.headers['x-appengine-queuename'], 'aeq');
  t.equal(p.headers['x-appengine-taskretrycount'], '0');
  t.match(p.headers['user-agent'], /AppEngine-Google/);

  const routed = (await gcloud.json('tasks', 'queues', 'describe', 'routed', LOC)) as Record<string, any>;
  t.same(routed.appEngineRoutingOverride, { service: 'svc', version: 'v2', host: 'v2.svc.test-project.appspot.com' });
  ok(t, await gcloud.run('tasks', 'queues', 'update', 'routed', LOC, '--clear-routing-override'), 'clear routing override');
  t.equal((await api(emu.url, 'GET', `${PARENT}/queues/routed`)).json.appEngineRoutingOverride, undefined);
});

t.test('queue HTTP overrides on create and update redirect tasks; tasks buffer', async (t) => {
  const created = await gcloud.run(
    'tasks', 'queues', 'create', 'ovq', LOC,
    `--http-uri-override=scheme:http,host:127.0.0.1,port:${port},path:/over,query:q=1,mode:always`,
    '--http-method-override=PUT',
    '--http-header-override=X-Q: 1',
    '--http-oidc-service-account-email-override=queue@test-project.iam.gserviceaccount.com',
    '--http-oidc-token-audience-override=https://aud.example',
  );
  ok(t, created, 'create with overrides');
  const q = (await gcloud.json('tasks', 'queues', 'describe', 'ovq', LOC)) as Record<string, any>;
  t.same(q.httpTarget.uriOverride, { scheme: 'HTTP', host: '127.0.0.1', port, pathOverride: { path: '/over' }, queryOverride: { queryParams: 'q=1' }, uriOverrideEnforceMode: 'ALWAYS' });
  t.equal(q.httpTarget.httpMethod, 'PUT');
  t.same(q.httpTarget.headerOverrides, [{ header: { key: 'X-Q', value: '1' } }]);
  t.same(q.httpTarget.oidcToken, { serviceAccountEmail: 'queue@test-project.iam.gserviceaccount.com', audience: 'https://aud.example' });

  ok(t, await gcloud.run('tasks', 'create-http-task', 'h1', '--queue=ovq', LOC, '--url=https://nowhere.invalid/x', '--body-content=b'), 'create-http-task');
  await waitFor(() => target.pushes.some((p) => p.headers['x-cloudtasks-taskname'] === 'h1'), 20_000);
  const h1 = target.pushes.find((p) => p.headers['x-cloudtasks-taskname'] === 'h1')!;
  t.equal(h1.url, '/over?q=1', 'redirected by the queue');
  t.equal(h1.method, 'PUT');
  t.equal(h1.headers['x-q'], '1');
  t.match(String(h1.headers.authorization), /^Bearer ey/);

  ok(t, await gcloud.run('tasks', 'queues', 'update', 'ovq', LOC, `--http-uri-override=scheme:http,host:127.0.0.1,port:${port},path:/two`, '--clear-http-method-override', '--clear-http-oidc-service-account-email-override', '--clear-http-oidc-token-audience-override'), 'update overrides');
  const q2 = (await gcloud.json('tasks', 'queues', 'describe', 'ovq', LOC)) as Record<string, any>;
  t.equal(q2.httpTarget.uriOverride.pathOverride.path, '/two');
  t.equal(q2.httpTarget.httpMethod, undefined, 'method override cleared');
  t.equal(q2.httpTarget.oidcToken, undefined, 'OIDC override cleared');
  t.same(q2.httpTarget.headerOverrides, [{ header: { key: 'X-Q', value: '1' } }], 'header override kept');

  const [named, unnamed] = await Promise.all([
    gcloud.run('tasks', 'buffer', '--queue=ovq', LOC, '--task-id=buf1'),
    gcloud.run('tasks', 'buffer', '--queue=ovq', LOC),
  ]);
  ok(t, named, 'buffer with a task id');
  ok(t, unnamed, 'buffer without one');
  await waitFor(() => target.pushes.filter((p) => p.url === '/two').length === 2, 20_000);
  t.ok(target.pushes.some((p) => p.url === '/two' && p.headers['x-cloudtasks-taskname'] === 'buf1'), 'the buffered task ran at the queue URL');
});

t.test('IAM commands answer at once; cmek-config and locations', async (t) => {
  ok(t, await gcloud.run('tasks', 'queues', 'create', 'iamq', LOC), 'create');
  const empty = (await gcloud.json('tasks', 'queues', 'get-iam-policy', 'iamq', LOC)) as Record<string, any>;
  t.equal(empty.etag, 'ACAB');
  ok(t, await gcloud.run('tasks', 'queues', 'add-iam-policy-binding', 'iamq', LOC, '--member=serviceAccount:sa@test-project.iam.gserviceaccount.com', '--role=roles/cloudtasks.enqueuer'), 'add binding');
  const withBinding = (await gcloud.json('tasks', 'queues', 'get-iam-policy', 'iamq', LOC)) as Record<string, any>;
  t.same(withBinding.bindings, [{ role: 'roles/cloudtasks.enqueuer', members: ['serviceAccount:sa@test-project.iam.gserviceaccount.com'] }]);
  ok(t, await gcloud.run('tasks', 'queues', 'remove-iam-policy-binding', 'iamq', LOC, '--member=serviceAccount:sa@test-project.iam.gserviceaccount.com', '--role=roles/cloudtasks.enqueuer'), 'remove binding');
  const dir = mkdtempSync(join(tmpdir(), 'iam-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ bindings: [{ role: 'roles/cloudtasks.viewer', members: ['user:a@example.com'] }] }));
  ok(t, await gcloud.run('tasks', 'queues', 'set-iam-policy', 'iamq', join(dir, 'policy.json'), LOC), 'set-iam-policy');
  t.same((await api(emu.url, 'POST', `${PARENT}/queues/iamq:getIamPolicy`, {})).json.bindings, [{ role: 'roles/cloudtasks.viewer', members: ['user:a@example.com'] }]);

  const key = 'projects/test-project/locations/us-central1/keyRings/r/cryptoKeys/k';
  const [upd, locs, loc] = await Promise.all([
    gcloud.run('tasks', 'cmek-config', 'update', LOC, `--kms-key-name=${key}`),
    gcloud.json('tasks', 'locations', 'list'),
    gcloud.json('tasks', 'locations', 'describe', 'us-central1'),
  ]);
  ok(t, upd, 'cmek-config update');
  t.equal(((await gcloud.json('tasks', 'cmek-config', 'describe', LOC)) as Record<string, any>).kmsKey, key);
  ok(t, await gcloud.run('tasks', 'cmek-config', 'update', LOC, '--clear-kms-key'), 'clear');
  t.equal(((await gcloud.json('tasks', 'cmek-config', 'describe', LOC)) as Record<string, any>).kmsKey, undefined);
  t.ok((locs as Array<{ locationId: string }>).some((l) => l.locationId === 'us-central1'));
  t.equal((loc as { locationId: string }).locationId, 'us-central1');
});

t.test('gcloud beta tasks speaks v2beta3', async (t) => {
  ok(t, await gcloud.run('beta', 'tasks', 'queues', 'create', 'betaq', LOC, '--routing-override=service:b'), 'beta create');
  const q = (await gcloud.json('beta', 'tasks', 'queues', 'describe', 'betaq', LOC)) as Record<string, any>;
  t.equal(q.type, 'PUSH');
  t.same(q.appEngineHttpQueue, { appEngineRoutingOverride: { service: 'b', host: 'b.test-project.appspot.com' } });
  ok(t, await gcloud.run('beta', 'tasks', 'queues', 'update', 'betaq', LOC, '--max-attempts=3', '--routing-override=service:c'), 'beta update');
  const q2 = (await gcloud.json('beta', 'tasks', 'queues', 'describe', 'betaq', LOC)) as Record<string, any>;
  t.equal(q2.retryConfig.maxAttempts, 3);
  t.equal(q2.appEngineHttpQueue.appEngineRoutingOverride.service, 'c');
  ok(t, await gcloud.run('beta', 'tasks', 'create-app-engine-task', 'b1', '--queue=betaq', LOC, '--relative-uri=/beta'), 'beta create-app-engine-task');
  await waitFor(() => target.pushes.some((p) => p.headers['x-appengine-taskname'] === 'b1'), 20_000);
  t.equal(target.pushes.find((p) => p.headers['x-appengine-taskname'] === 'b1')!.url, '/gae/beta');
  t.equal(((await gcloud.json('beta', 'tasks', 'queues', 'get-iam-policy', 'betaq', LOC)) as Record<string, any>).etag, 'ACAB');
});
