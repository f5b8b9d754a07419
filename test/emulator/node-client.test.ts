// The official @google-cloud/tasks client in REST (fallback) mode, over plain HTTP.

import { CloudTasksClient } from '@google-cloud/tasks';
import { PassThroughClient } from 'google-auth-library';
import t from 'tap';
import { startEmulator } from '../../src/emulator/index.ts';
import { PARENT, startTarget, waitFor } from './helpers.ts';

t.test('the official client manages queues and tasks and sees errors as gax codes', async (t) => {
  const emu = await startEmulator({ logger: false });
  const target = await startTarget((_p, n) => ({ status: n === 0 ? 500 : 200 }));
  const client = new CloudTasksClient({
    fallback: true,
    apiEndpoint: '127.0.0.1',
    port: emu.port,
    protocol: 'http',
    auth: new PassThroughClient(),
  } as unknown as ConstructorParameters<typeof CloudTasksClient>[0]);
  t.teardown(async () => {
    await client.close();
    await emu.close();
    await target.close();
  });
  const queueName = `${PARENT}/queues/client-q`;

  const [queue] = await client.createQueue({ parent: PARENT, queue: { name: queueName, retryConfig: { maxAttempts: 5, minBackoff: { seconds: 1 } } } });
  t.equal(queue.name, queueName);
  t.equal(queue.retryConfig?.maxAttempts, 5);
  t.equal(Number(queue.retryConfig?.minBackoff?.seconds), 1);
  t.equal(queue.state, 'RUNNING');
  t.equal(queue.rateLimits?.maxBurstSize, 100);

  await t.rejects(client.createQueue({ parent: PARENT, queue: { name: queueName } }), { code: 6 }, 'ALREADY_EXISTS is gax code 6');
  await t.rejects(client.getQueue({ name: `${PARENT}/queues/missing` }), { code: 5 }, 'NOT_FOUND is gax code 5');

  const [updated] = await client.updateQueue({
    queue: { name: queueName, rateLimits: { maxDispatchesPerSecond: 5 } },
    updateMask: { paths: ['rate_limits.max_dispatches_per_second'] },
  });
  t.equal(updated.rateLimits?.maxDispatchesPerSecond, 5);
  t.equal(updated.retryConfig?.maxAttempts, 5, 'fields outside the mask kept');

  const [paused] = await client.pauseQueue({ name: queueName });
  t.equal(paused.state, 'PAUSED');

  const [created] = await client.createTask({
    parent: queueName,
    task: {
      name: `${queueName}/tasks/first`,
      httpRequest: {
        url: `${target.url}/push`,
        httpMethod: 'PUT',
        body: Buffer.from('hello'),
        headers: { 'X-K': 'v' },
        oidcToken: { serviceAccountEmail: 'sa@test-project.iam.gserviceaccount.com' },
      },
      dispatchDeadline: { seconds: 30 },
    },
    responseView: 'FULL',
  });
  t.equal(created.name, `${queueName}/tasks/first`);
  t.equal(created.httpRequest?.httpMethod, 'PUT');
  t.equal(Buffer.from(created.httpRequest?.body as Uint8Array).toString(), 'hello');
  t.equal(created.httpRequest?.oidcToken?.serviceAccountEmail, 'sa@test-project.iam.gserviceaccount.com');
  t.equal(Number(created.dispatchDeadline?.seconds), 30);
  await t.rejects(client.createTask({ parent: queueName, task: { name: `${queueName}/tasks/first`, httpRequest: { url: target.url } } }), { code: 6 });

  for (let i = 0; i < 4; i++) await client.createTask({ parent: queueName, task: { httpRequest: { url: target.url } } });
  const [page1, nextRequest] = await client.listTasks({ parent: queueName, pageSize: 3 }, { autoPaginate: false });
  t.equal(page1.length, 3);
  t.ok(nextRequest?.pageToken, 'a next page token');
  const [all] = await client.listTasks({ parent: queueName });
  t.equal(all.length, 5, 'auto-pagination reads every page');

  const [got] = await client.getTask({ name: `${queueName}/tasks/first`, responseView: 'FULL' });
  t.equal(Buffer.from(got.httpRequest?.body as Uint8Array).toString(), 'hello');
  const [basic] = await client.getTask({ name: `${queueName}/tasks/first` });
  t.equal(basic.httpRequest?.body?.length ?? 0, 0, 'BASIC view has no body');

  const [ran] = await client.runTask({ name: `${queueName}/tasks/first` });
  t.equal(ran.dispatchCount, 1);
  await waitFor(() => target.pushes.length === 1);
  const push = target.pushes[0];
  t.equal(push.method, 'PUT');
  t.equal(push.body.toString(), 'hello');
  t.equal(push.headers['x-k'], 'v');
  t.match(String(push.headers.authorization), /^Bearer ey/);

  const victim = all.find((task) => task.name !== `${queueName}/tasks/first`)!;
  await client.deleteTask({ name: victim.name });
  await t.rejects(client.getTask({ name: victim.name! }), { code: 5 });

  const [resumed] = await client.resumeQueue({ name: queueName });
  t.equal(resumed.state, 'RUNNING');
  await client.purgeQueue({ name: queueName });
  const [left] = await client.listTasks({ parent: queueName });
  t.equal(left.length, 0);
  await client.deleteQueue({ name: queueName });
  const [queues] = await client.listQueues({ parent: PARENT });
  t.equal(queues.length, 0);
});
