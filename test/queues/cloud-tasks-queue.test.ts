// The Cloud Tasks TaskQueue, driven through the official client in REST mode
// against the project's emulator, with a local receiver observing the pushes.
import t from 'tap';
import { parseEmulatorHost, queuePath, taskPath } from '../../src/queues/cloud-tasks-queue.ts';
import { startQueueHarness } from './receiver.ts';

const PROJECT = 'test-project';
const LOCATION = 'us-central1';

const { emu, receiver, queue } = await startQueueHarness(t, PROJECT, LOCATION);
await emu.ensureQueue(PROJECT, LOCATION, 'incoming', { maxAttempts: 3, maxRetryDuration: '60s', minBackoff: '0.1s', maxBackoff: '1s' });

t.test('a named task is pushed with its method, headers and body', async (t) => {
  const created = await queue.createTask({
    queue: 'incoming',
    taskName: 'order-1',
    url: `${receiver.url}/tasks?x=1`,
    body: Buffer.from('{"type":"echo"}'),
    headers: { 'Content-Type': 'application/json', 'X-Custom': 'yes' },
    dispatchDeadlineSeconds: 60,
  });
  t.same(created, { taskName: 'order-1', name: taskPath(PROJECT, LOCATION, 'incoming', 'order-1'), alreadyExisted: false });
  const push = (await receiver.waitFor(1)).find((p) => p.headers['x-cloudtasks-taskname'] === 'order-1');
  t.ok(push, 'the push arrived');
  t.equal(push!.method, 'POST');
  t.equal(push!.url, '/tasks?x=1');
  t.equal(push!.headers['content-type'], 'application/json');
  t.equal(push!.headers['x-custom'], 'yes');
  t.equal(push!.headers['x-cloudtasks-queuename'], 'incoming');
  t.equal(push!.headers.authorization, undefined, 'no token without oidc');
  t.equal(push!.body.toString(), '{"type":"echo"}');
});

t.test('creating the same name again reports alreadyExisted instead of failing', async (t) => {
  const input = { queue: 'incoming', taskName: 'dup-1', url: `${receiver.url}/tasks`, body: Buffer.from('{}') };
  const first = await queue.createTask(input);
  const second = await queue.createTask(input);
  t.equal(first.alreadyExisted, false);
  t.equal(second.alreadyExisted, true);
  t.equal(second.taskName, 'dup-1');
  t.equal(second.name, taskPath(PROJECT, LOCATION, 'incoming', 'dup-1'));
});

t.test('an unnamed task gets a name chosen by the queue', async (t) => {
  const created = await queue.createTask({ queue: 'incoming', url: `${receiver.url}/tasks`, body: Buffer.from('{}') });
  t.equal(created.alreadyExisted, false);
  t.match(created.taskName, /^[A-Za-z0-9_-]+$/);
  t.equal(created.name, taskPath(PROJECT, LOCATION, 'incoming', created.taskName));
});

t.test('an oidc task is pushed with a Bearer token for the URL as audience', async (t) => {
  const before = receiver.pushes.length;
  await queue.createTask({
    queue: 'incoming',
    taskName: 'oidc-1',
    url: `${receiver.url}/secure`,
    body: Buffer.from('{}'),
    oidc: { serviceAccountEmail: 'invoker@test-project.iam.gserviceaccount.com' },
  });
  await receiver.waitFor(before + 1);
  const push = receiver.pushes.find((p) => p.headers['x-cloudtasks-taskname'] === 'oidc-1');
  t.ok(push, 'the push arrived');
  const auth = String(push!.headers.authorization ?? '');
  t.match(auth, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  const claims = JSON.parse(Buffer.from(auth.split('.')[1]!, 'base64url').toString());
  t.equal(claims.aud, `${receiver.url}/secure`);
  t.equal(claims.email, 'invoker@test-project.iam.gserviceaccount.com');
});

t.test('deleteTask returns true for a waiting task, then false', async (t) => {
  await queue.createTask({
    queue: 'incoming',
    taskName: 'later-1',
    url: `${receiver.url}/tasks`,
    body: Buffer.from('{}'),
    scheduleTime: new Date(Date.now() + 3600_000),
  });
  t.equal(await queue.deleteTask('incoming', 'later-1'), true);
  t.equal(await queue.deleteTask('incoming', 'later-1'), false);
  t.equal(await queue.deleteTask('incoming', 'never-existed'), false);
});

t.test('getQueue maps the retry config and state of an existing queue', async (t) => {
  const info = await queue.getQueue('incoming');
  t.same(info, { name: queuePath(PROJECT, LOCATION, 'incoming'), maxAttempts: 3, maxRetryDurationSeconds: 60, state: 'RUNNING' });
});

t.test('getQueue returns undefined for a missing queue', async (t) => {
  t.equal(await queue.getQueue('no-such-queue'), undefined);
});

t.test('createTask in a missing queue fails', async (t) => {
  await t.rejects(queue.createTask({ queue: 'no-such-queue', taskName: 'x', url: `${receiver.url}/tasks`, body: Buffer.from('{}') }), { code: 5 });
});

t.test('parseEmulatorHost accepts host:port, a URL and IPv6', async (t) => {
  t.same(parseEmulatorHost('127.0.0.1:8123'), { host: '127.0.0.1', port: 8123 });
  t.same(parseEmulatorHost('http://localhost:9000/'), { host: 'localhost', port: 9000 });
  t.same(parseEmulatorHost('[::1]:8123'), { host: '::1', port: 8123 });
  t.throws(() => parseEmulatorHost('a:b:c'));
});
