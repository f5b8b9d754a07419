// `gcloud beta tasks` (v2beta3), unmodified. One file per few gcloud calls: each
// costs seconds on a busy machine and a test file has a time limit.
import t from 'tap';
import { gcloudFile, LOC, gcloudOk as ok } from './gcloud-cli.ts';
import { waitFor } from './helpers.ts';

// One emulator, one push target and one gcloud config for the file: each gcloud call costs about a second.
const { gcloud, target } = await gcloudFile({ appEngine: true });

t.test('gcloud beta tasks speaks v2beta3', async (t) => {
  ok(t, await gcloud.run('beta', 'tasks', 'queues', 'create', 'betaq', LOC, '--routing-override=service:b'), 'beta create');
  const q = (await gcloud.json('beta', 'tasks', 'queues', 'describe', 'betaq', LOC)) as Record<string, any>;
  t.equal(q.type, 'PUSH');
  t.same(q.appEngineHttpQueue, { appEngineRoutingOverride: { service: 'b', host: 'b.test-project.appspot.com' } });
  ok(t, await gcloud.run('beta', 'tasks', 'queues', 'update', 'betaq', LOC, '--max-attempts=3', '--routing-override=service:c'), 'beta update');
  const q2 = (await gcloud.json('beta', 'tasks', 'queues', 'describe', 'betaq', LOC)) as Record<string, any>;
  t.equal(q2.retryConfig.maxAttempts, 3);
  t.equal(q2.appEngineHttpQueue.appEngineRoutingOverride.service, 'c');
  const [made, policy] = await Promise.all([
    gcloud.run('beta', 'tasks', 'create-app-engine-task', 'b1', '--queue=betaq', LOC, '--relative-uri=/beta'),
    gcloud.json('beta', 'tasks', 'queues', 'get-iam-policy', 'betaq', LOC),
  ]);
  ok(t, made, 'beta create-app-engine-task');
  t.equal((policy as Record<string, any>).etag, 'ACAB');
  await waitFor(() => target.pushes.some((p) => p.headers['x-appengine-taskname'] === 'b1'), 20_000);
  t.equal(target.pushes.find((p) => p.headers['x-appengine-taskname'] === 'b1')!.url, '/gae/beta');
});

t.test('gcloud alpha tasks (v2beta2, pull-queue leases) is refused at once, naming the versions served', async (t) => {
  ok(t, await gcloud.run('beta', 'tasks', 'queues', 'create', 'pullq', LOC, '--type=pull'), 'beta create pull queue');
  const started = Date.now();
  const lease = await gcloud.run('alpha', 'tasks', 'lease', '--queue=pullq', LOC, '--lease-duration=60');
  t.not(lease.code, 0);
  t.match(lease.stderr, /NOT_FOUND.*serves Cloud Tasks v2 and v2beta3.*not v2beta2/s);
  t.ok(Date.now() - started < 20_000, 'no retries: a 404, not a 501');
});
