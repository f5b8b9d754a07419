// Dispatch to App Engine targets and through a queue's httpTarget; BufferTask.
import t, { type Test } from 'tap';
import { ManualClock } from '../../src/emulator/clock.ts';
import { startEmulator } from '../../src/emulator/index.ts';
import { api, PARENT, type RecordedPush, type Reply, startTarget, waitFor } from './helpers.ts';

async function setup(t: Test, reply?: (p: RecordedPush, n: number) => Reply) {
  const target = await startTarget(reply);
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  const emu = await startEmulator({ logger: false, clock, appEngineUrl: `${target.url}/app` });
  t.teardown(async () => {
    await emu.close();
    await target.close();
  });
  return { emu, target, clock };
}

t.test('an App Engine task reaches the local app with the App Engine task headers', async (t) => {
  const { emu, target, clock } = await setup(t, (_p, n) => ({ status: [500, 503, 200][n] ?? 200 }));
  await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/ae`, retryConfig: { minBackoff: '1s', maxBackoff: '1s' } });
  const created = await api(emu.url, 'POST', `${PARENT}/queues/ae/tasks`, {
    task: {
      name: `${PARENT}/queues/ae/tasks/ae1`,
      appEngineHttpRequest: {
        relativeUri: '/work?x=1',
        body: Buffer.from('payload').toString('base64'),
        headers: { 'User-Agent': 'mine', 'X-AppEngine-QueueName': 'forged' },
        appEngineRouting: { service: 'jobs', version: 'v1' },
      },
    },
  });
  t.equal(created.status, 200, JSON.stringify(created.json));
  t.same(created.json.appEngineHttpRequest, {
    httpMethod: 'POST',
    appEngineRouting: { service: 'jobs', version: 'v1', host: 'v1.jobs.test-project.appspot.com' },
    relativeUri: '/work?x=1',
    headers: { 'User-Agent': 'mine', 'X-AppEngine-QueueName': 'forged' },
  });
  await emu.idle();
  clock.advance(1000);
  await emu.idle();
  clock.advance(2000);
  await emu.idle();
  t.equal(target.pushes.length, 3);
  const [first, second, third] = target.pushes as [RecordedPush, RecordedPush, RecordedPush];
  t.equal(first.url, '/app/work?x=1', 'EMULATOR_APP_ENGINE_URL + relativeUri');
  t.equal(first.method, 'POST');
  t.equal(first.body.toString(), 'payload');
  t.equal(first.headers['content-type'], 'application/octet-stream', 'App Engine sets a Content-Type for a body');
  t.equal(first.headers['user-agent'], 'mine AppEngine-Google; (+http://code.google.com/appengine)');
  t.equal(first.headers['x-appengine-queuename'], 'ae', 'a task cannot forge X-AppEngine-*');
  t.equal(first.headers['x-appengine-taskname'], 'ae1');
  t.equal(first.headers['x-appengine-taskretrycount'], '0');
  t.equal(first.headers['x-appengine-taskexecutioncount'], '0');
  t.match(first.headers['x-appengine-tasketa'], /^\d+\.\d{6}$/);
  t.equal(first.headers['x-appengine-taskpreviousresponse'], undefined);
  t.equal(first.headers['x-cloudtasks-queuename'], undefined, 'no HTTP-target headers on App Engine pushes');
  t.equal(second.headers['x-appengine-taskretrycount'], '1');
  t.equal(second.headers['x-appengine-taskexecutioncount'], '1', 'a 500 from the app is an execution');
  t.equal(second.headers['x-appengine-taskpreviousresponse'], '500');
  t.equal(second.headers['x-appengine-taskretryreason'], 'INTERNAL');
  t.equal(third.headers['x-appengine-taskretrycount'], '2');
  t.equal(third.headers['x-appengine-taskexecutioncount'], '1', 'a 503 (no instance) is not');
  t.equal(third.headers['x-appengine-taskpreviousresponse'], '503');
  t.equal((await api(emu.url, 'GET', `${PARENT}/queues/ae/tasks/ae1`)).status, 404, 'done after the 200');
});

t.test('a queue routing override wins over the task routing; GET with a body is refused', async (t) => {
  const { emu } = await setup(t);
  await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/ro`, appEngineRoutingOverride: { service: 'svc' } });
  await api(emu.url, 'POST', `${PARENT}/queues/ro:pause`, {});
  const made = await api(emu.url, 'POST', `${PARENT}/queues/ro/tasks`, { task: { appEngineHttpRequest: { appEngineRouting: { service: 'other' } } } });
  t.same(made.json.appEngineHttpRequest.appEngineRouting, { service: 'svc', host: 'svc.test-project.appspot.com' });
  t.equal(made.json.appEngineHttpRequest.relativeUri, '/');
  const bad = await api(emu.url, 'POST', `${PARENT}/queues/ro/tasks`, { task: { appEngineHttpRequest: { httpMethod: 'GET', body: 'eA==' } } });
  t.equal(bad.json.error.status, 'INVALID_ARGUMENT');
  const both = await api(emu.url, 'POST', `${PARENT}/queues/ro/tasks`, { task: { appEngineHttpRequest: {}, httpRequest: { url: 'http://x' } } });
  t.equal(both.json.error.status, 'INVALID_ARGUMENT');
});

t.test('a queue httpTarget rewrites the URL, method, headers and identity of its tasks at dispatch', async (t) => {
  const { emu, target } = await setup(t);
  const port = new URL(target.url).port;
  const created = await api(emu.url, 'POST', `${PARENT}/queues`, {
    name: `${PARENT}/queues/ov`,
    httpTarget: {
      uriOverride: { scheme: 'HTTP', host: '127.0.0.1', port: port, pathOverride: { path: '/redirected' }, queryOverride: { queryParams: 'a=1' } },
      httpMethod: 'PUT',
      headerOverrides: [{ header: { key: 'X-Team', value: 'blue' } }],
      oidcToken: { serviceAccountEmail: 'queue@test-project.iam.gserviceaccount.com', audience: 'https://aud.example' },
    },
  });
  t.equal(created.status, 200, JSON.stringify(created.json));
  t.same(created.json.httpTarget, {
    uriOverride: {
      scheme: 'HTTP',
      host: '127.0.0.1',
      port,
      pathOverride: { path: '/redirected' },
      queryOverride: { queryParams: 'a=1' },
      uriOverrideEnforceMode: 'ALWAYS',
    },
    httpMethod: 'PUT',
    headerOverrides: [{ header: { key: 'X-Team', value: 'blue' } }],
    oidcToken: { serviceAccountEmail: 'queue@test-project.iam.gserviceaccount.com', audience: 'https://aud.example' },
  });
  const task = await api(emu.url, 'POST', `${PARENT}/queues/ov/tasks`, {
    task: { httpRequest: { url: 'https://nowhere.invalid:9/orig?b=2', body: 'Ym9keQ==', headers: { 'x-team': 'red', 'X-Keep': 'k' } } },
  });
  t.equal(task.json.httpRequest.url, 'https://nowhere.invalid:9/orig?b=2', 'the task keeps its own URL');
  await emu.idle();
  await waitFor(() => target.pushes.length === 1);
  const p = target.pushes[0]!;
  t.equal(p.url, '/redirected?a=1');
  t.equal(p.method, 'PUT');
  t.equal(p.body.toString(), 'body');
  t.equal(p.headers['x-team'], 'blue', 'header override replaces the task header');
  t.equal(p.headers['x-keep'], 'k');
  const token = String(p.headers.authorization).replace(/^Bearer /, '');
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
  t.equal(claims.email, 'queue@test-project.iam.gserviceaccount.com');
  t.equal(claims.aud, 'https://aud.example');

  // IF_NOT_EXISTS fills only what the task URL lacks.
  await api(emu.url, 'PATCH', `${PARENT}/queues/ov?updateMask=httpTarget.uriOverride,httpTarget.httpMethod,httpTarget.oidcToken`, {
    httpTarget: { uriOverride: { port, pathOverride: { path: '/filled' }, uriOverrideEnforceMode: 'IF_NOT_EXISTS' } },
  });
  const q = await api(emu.url, 'GET', `${PARENT}/queues/ov`);
  t.same(q.json.httpTarget.headerOverrides, [{ header: { key: 'X-Team', value: 'blue' } }], 'fields outside the mask kept');
  t.equal(q.json.httpTarget.httpMethod, undefined, 'masked field without a value cleared');
  await api(emu.url, 'POST', `${PARENT}/queues/ov/tasks`, { task: { httpRequest: { url: 'http://127.0.0.1/' } } });
  await api(emu.url, 'POST', `${PARENT}/queues/ov/tasks`, { task: { httpRequest: { url: `http://127.0.0.1:${port}/own` } } });
  await emu.idle();
  await waitFor(() => target.pushes.length === 3);
  t.same(
    target.pushes
      .slice(1)
      .map((x) => x.url)
      .sort(),
    ['/filled', '/own'].sort(),
  );
});

t.test('BufferTask makes a task from the queue httpTarget and an HttpBody', async (t) => {
  const { emu, target } = await setup(t);
  await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/plain` });
  const refused = await api(emu.url, 'POST', `${PARENT}/queues/plain/tasks/b0:buffer`, {});
  t.equal(refused.json.error.status, 'FAILED_PRECONDITION', 'no httpTarget, no buffer');
  const u = new URL(target.url);
  await api(emu.url, 'POST', `${PARENT}/queues`, {
    name: `${PARENT}/queues/buf`,
    httpTarget: { uriOverride: { scheme: 'HTTP', host: u.hostname, port: u.port, pathOverride: { path: '/buffered' } } },
  });
  await api(emu.url, 'POST', `${PARENT}/queues/buf:pause`, {});
  const named = await api(emu.url, 'POST', `${PARENT}/queues/buf/tasks/b1:buffer`, {
    body: { contentType: 'application/json', data: Buffer.from('{"a":1}').toString('base64') },
  });
  t.equal(named.status, 200, JSON.stringify(named.json));
  t.equal(named.json.task.name, `${PARENT}/queues/buf/tasks/b1`);
  t.equal(named.json.task.httpRequest.url, `http://${u.hostname}:${u.port}/buffered`);
  const unnamed = await api(emu.url, 'POST', `${PARENT}/queues/buf/tasks/:buffer`, {});
  t.equal(unnamed.status, 200, "gcloud's empty task id");
  const typo = await api(emu.url, 'POST', `${PARENT}/queues/buf/tasks/b2:buffer`, { body: { contentTyp: 'x' } });
  t.equal(typo.json.error.message, 'Invalid JSON payload received. Unknown name "contentTyp" at \'body\': Cannot find field.');
  await api(emu.url, 'POST', `${PARENT}/queues/buf:resume`, {});
  await emu.idle();
  await waitFor(() => target.pushes.length === 2);
  const b1 = target.pushes.find((p) => p.headers['x-cloudtasks-taskname'] === 'b1')!;
  t.equal(b1.url, '/buffered');
  t.equal(b1.headers['content-type'], 'application/json');
  t.equal(b1.body.toString(), '{"a":1}');
});

t.test('oauthToken (task or queue) pushes a placeholder bearer token naming the account and scope', async (t) => {
  const { emu, target } = await setup(t);
  await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/oa` });
  await api(emu.url, 'POST', `${PARENT}/queues/oa/tasks`, {
    task: {
      name: `${PARENT}/queues/oa/tasks/own`,
      httpRequest: { url: target.url, headers: { Authorization: 'Bearer mine' }, oauthToken: { serviceAccountEmail: 'task@p.iam.gserviceaccount.com' } },
    },
  });
  await emu.idle();
  await waitFor(() => target.pushes.length === 1);
  const decode = (h: unknown) => JSON.parse(Buffer.from(String(h).replace(/^Bearer emulator-oauth\./, ''), 'base64url').toString());
  t.match(String(target.pushes[0]!.headers.authorization), /^Bearer emulator-oauth\./);
  t.same(decode(target.pushes[0]!.headers.authorization), { email: 'task@p.iam.gserviceaccount.com', scope: 'https://www.googleapis.com/auth/cloud-platform' });
  await api(emu.url, 'PATCH', `${PARENT}/queues/oa?updateMask=httpTarget.oauthToken`, {
    httpTarget: { oauthToken: { serviceAccountEmail: 'queue@p.iam.gserviceaccount.com', scope: 'https://example.com/scope' } },
  });
  await api(emu.url, 'POST', `${PARENT}/queues/oa/tasks`, {
    task: { httpRequest: { url: target.url, oidcToken: { serviceAccountEmail: 'task@p.iam.gserviceaccount.com' } } },
  });
  await emu.idle();
  await waitFor(() => target.pushes.length === 2);
  t.same(
    decode(target.pushes[1]!.headers.authorization),
    { email: 'queue@p.iam.gserviceaccount.com', scope: 'https://example.com/scope' },
    'the queue identity replaces the task OIDC token',
  );
});

t.test('a uriOverride that only clears the path is kept and applied', async (t) => {
  const { emu, target } = await setup(t);
  await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/cp`, httpTarget: { uriOverride: { pathOverride: {} } } });
  const q = await api(emu.url, 'GET', `${PARENT}/queues/cp`);
  t.same(q.json.httpTarget, { uriOverride: { pathOverride: {}, uriOverrideEnforceMode: 'ALWAYS' } });
  await api(emu.url, 'POST', `${PARENT}/queues/cp/tasks`, { task: { httpRequest: { url: `${target.url}/dropped/path?k=v` } } });
  await emu.idle();
  await waitFor(() => target.pushes.length === 1);
  t.equal(target.pushes[0]!.url, '/?k=v');
  const cleared = await api(emu.url, 'PATCH', `${PARENT}/queues/cp?updateMask=httpTarget.uriOverride`, {});
  t.equal(cleared.json.httpTarget, undefined, 'clearing its only field removes the httpTarget');
});
