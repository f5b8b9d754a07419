// The installed gcloud, unmodified: App Engine tasks and routing overrides. One
// file per few gcloud calls: each costs seconds on a busy machine.
import t from 'tap';
import { gcloudFile, LOC, gcloudOk as ok } from './gcloud-cli.ts';
import { api, PARENT, waitFor } from './helpers.ts';

// One emulator, one push target and one gcloud config for the file: each gcloud call costs about a second.
const { emu, gcloud, target } = await gcloudFile({ appEngine: true });

t.test('create-app-engine-task reaches the local app with the App Engine headers; routing overrides', async (t) => {
  const [a, b] = await Promise.all([
    gcloud.run('tasks', 'queues', 'create', 'aeq', LOC),
    gcloud.run('tasks', 'queues', 'create', 'routed', LOC, '--routing-override=service:svc,version:v2'),
  ]);
  ok(t, a, 'create aeq');
  ok(t, b, 'create routed');
  const made = await gcloud.run(
    'tasks',
    'create-app-engine-task',
    'ae1',
    '--queue=aeq',
    LOC,
    '--relative-uri=/work',
    '--routing=service:jobs',
    '--header=X-A: 1',
    '--body-content=hello',
    '--method=PUT',
  );
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
