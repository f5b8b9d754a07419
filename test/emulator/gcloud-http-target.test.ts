// The installed gcloud, unmodified: queue HTTP overrides and tasks buffer. One
// file per few gcloud calls: each costs seconds on a busy machine.
import t from 'tap';
import { gcloudFile, LOC, gcloudOk as ok } from './gcloud-cli.ts';
import { waitFor } from './helpers.ts';

// One emulator, one push target and one gcloud config for the file: each gcloud call costs about a second.
const { gcloud, target } = await gcloudFile({ target: true });
const port = new URL(target.url).port;

t.test('queue HTTP overrides on create and update redirect tasks; tasks buffer', async (t) => {
  const created = await gcloud.run(
    'tasks',
    'queues',
    'create',
    'ovq',
    LOC,
    `--http-uri-override=scheme:http,host:127.0.0.1,port:${port},path:/over,query:q=1,mode:always`,
    '--http-method-override=PUT',
    '--http-header-override=X-Q: 1',
    '--http-oidc-service-account-email-override=queue@test-project.iam.gserviceaccount.com',
    '--http-oidc-token-audience-override=https://aud.example',
  );
  ok(t, created, 'create with overrides');
  const q = (await gcloud.json('tasks', 'queues', 'describe', 'ovq', LOC)) as Record<string, any>;
  t.same(q.httpTarget.uriOverride, {
    scheme: 'HTTP',
    host: '127.0.0.1',
    port,
    pathOverride: { path: '/over' },
    queryOverride: { queryParams: 'q=1' },
    uriOverrideEnforceMode: 'ALWAYS',
  });
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

  ok(
    t,
    await gcloud.run(
      'tasks',
      'queues',
      'update',
      'ovq',
      LOC,
      `--http-uri-override=scheme:http,host:127.0.0.1,port:${port},path:/two`,
      '--clear-http-method-override',
      '--clear-http-oidc-service-account-email-override',
      '--clear-http-oidc-token-audience-override',
    ),
    'update overrides',
  );
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
  t.ok(
    target.pushes.some((p) => p.url === '/two' && p.headers['x-cloudtasks-taskname'] === 'buf1'),
    'the buffered task ran at the queue URL',
  );
});
