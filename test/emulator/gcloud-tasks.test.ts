// The installed gcloud CLI, unmodified: HTTP tasks (queues: gcloud.test.ts; one
// file per few gcloud calls, as each costs seconds on a busy machine).
import t from 'tap';
import { gcloudFile, LOC } from './gcloud-cli.ts';
import { api, PARENT, startTarget, waitFor } from './helpers.ts';

// One emulator and one gcloud config for the file: each gcloud call costs about a second.
const { emu, gcloud } = await gcloudFile();

t.test('gcloud tasks create-http-task, list, describe, run and delete', async (t) => {
  const target = await startTarget(() => ({ status: 500 }));
  t.teardown(() => target.close());
  await emu.ensureQueue('test-project', 'us-central1', 'tq', { minBackoff: '60s' });
  await api(emu.url, 'POST', `${PARENT}/queues/tq:pause`, {});
  const at = new Date(Date.now() + 3600_000);
  at.setMilliseconds(0);
  const made = await gcloud.run(
    'tasks',
    'create-http-task',
    't1',
    '--queue=tq',
    LOC,
    `--url=${target.url}/hook`,
    '--method=PUT',
    '--header=X-A: 1',
    '--body-content=???>>>',
    `--schedule-time=${at.toISOString()}`,
    '--oidc-service-account-email=invoker@test-project.iam.gserviceaccount.com',
    '--oidc-token-audience=https://worker.example',
  );
  t.equal(made.code, 0, made.stderr);
  t.equal((await gcloud.run('tasks', 'create-http-task', '--queue=tq', LOC, `--url=${target.url}/other`)).code, 0, 'unnamed task');

  const list = (await gcloud.json('tasks', 'list', '--queue=tq', LOC)) as Array<Record<string, any>>;
  t.equal(list.length, 2);
  const d = (await gcloud.json('tasks', 'describe', 't1', '--queue=tq', LOC, '--response-view=full')) as Record<string, any>;
  t.equal(d.name, `${PARENT}/queues/tq/tasks/t1`);
  t.equal(d.httpRequest.httpMethod, 'PUT');
  t.same(d.httpRequest.headers, { 'X-A': '1' });
  t.equal(Buffer.from(d.httpRequest.body, 'base64').toString(), '???>>>', 'URL-safe base64 from gcloud decoded');
  t.equal(d.scheduleTime, at.toISOString());
  t.same(d.httpRequest.oidcToken, { serviceAccountEmail: 'invoker@test-project.iam.gserviceaccount.com', audience: 'https://worker.example' });

  const ran = await gcloud.run('tasks', 'run', 't1', '--queue=tq', LOC);
  t.equal(ran.code, 0, ran.stderr);
  await waitFor(() => target.pushes.length === 1);
  const push = target.pushes[0];
  t.equal(push.method, 'PUT');
  t.equal(push.url, '/hook');
  t.equal(push.body.toString(), '???>>>');
  t.equal(push.headers['x-a'], '1');
  t.equal(push.headers['x-cloudtasks-taskname'], 't1');
  t.equal(push.headers['content-type'], undefined);
  t.match(String(push.headers.authorization), /^Bearer /);

  t.equal((await gcloud.run('tasks', 'delete', 't1', '--queue=tq', LOC)).code, 0);
  const again = await gcloud.run('tasks', 'create-http-task', 't1', '--queue=tq', LOC, `--url=${target.url}/hook`);
  t.not(again.code, 0);
  t.match(again.stderr, /ALREADY_EXISTS/);
});
