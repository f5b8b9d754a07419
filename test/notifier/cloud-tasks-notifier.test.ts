// The Cloud Tasks notifier: one task per event on the notifier queue of the
// project's emulator, pushing the structured CloudEvent to a local receiver.
import t from 'tap';
import type { CreatedTask, CreateTaskInput, TaskQueue } from '../../src/interfaces.ts';
import { buildCloudEvent } from '../../src/notifier/cloud-event.ts';
import { createCloudTasksNotifier, notificationTaskName } from '../../src/notifier/cloud-tasks-notifier.ts';
import type { EventKind } from '../../src/schemas/index.ts';
import { TASK_ID } from '../../src/schemas/task-id.ts';
import { startQueueHarness } from '../queues/receiver.ts';

const PROJECT = 'test-project';
const LOCATION = 'us-central1';

const { emu, receiver, queue } = await startQueueHarness(t, PROJECT, LOCATION);
await emu.ensureQueue(PROJECT, LOCATION, 'notifier');

const event = (lineage: string, kind: EventKind) =>
  buildCloudEvent({
    kind,
    source: '//executor/test',
    time: new Date('2024-05-01T10:00:00Z'),
    data: { id: lineage, type: 'echo', queue: 'incoming', tier: 0, attempt: 1, maxAttempts: 3, state: kind, startedAt: 'a', finishedAt: 'b' },
  });

/** A TaskQueue that records what it is asked to create (for the option checks). */
function recordingQueue(): TaskQueue & { inputs: CreateTaskInput[] } {
  const inputs: CreateTaskInput[] = [];
  return {
    inputs,
    async createTask(input): Promise<CreatedTask> {
      inputs.push(input);
      return { taskName: input.taskName ?? 'x', name: `q/${input.taskName}`, alreadyExisted: false };
    },
    async deleteTask() {
      return false;
    },
    async getQueue() {
      return undefined;
    },
    async close() {},
  };
}

t.test('an event becomes one push of the structured CloudEvent to the default URL', async (t) => {
  const notifier = createCloudTasksNotifier({ queue, queueName: 'notifier', defaultUrl: `${receiver.url}/hook` });
  const e = event('lin-1', 'failed');
  const before = receiver.pushes.length;
  await notifier.send(e, {});
  await receiver.waitFor(before + 1);
  const push = receiver.pushes.find((p) => p.headers['x-cloudtasks-taskname'] === notificationTaskName(e.id));
  t.ok(push, 'the push arrived');
  t.equal(push!.url, '/hook');
  t.equal(push!.headers['content-type'], 'application/cloudevents+json');
  t.equal(push!.headers['x-cloudtasks-queuename'], 'notifier');
  t.same(JSON.parse(push!.body.toString()), e);
});

t.test('the same event sent twice makes one task and one push', async (t) => {
  const notifier = createCloudTasksNotifier({ queue, queueName: 'notifier', defaultUrl: `${receiver.url}/hook` });
  const e = event('lin-2', 'succeeded');
  const name = notificationTaskName(e.id);
  await notifier.send(e, {});
  await t.resolves(notifier.send(e, {}), 'the second send counts as done');
  // Every due push has been answered once the emulator is idle.
  await emu.idle();
  t.equal(receiver.pushes.filter((p) => p.headers['x-cloudtasks-taskname'] === name).length, 1);
});

t.test("the envelope's notify.url wins over NOTIFY_URL", async (t) => {
  const notifier = createCloudTasksNotifier({ queue, queueName: 'notifier', defaultUrl: `${receiver.url}/default` });
  const e = event('lin-3', 'failed');
  await notifier.send(e, { url: `${receiver.url}/mine` });
  await emu.idle();
  const push = receiver.pushes.find((p) => p.headers['x-cloudtasks-taskname'] === notificationTaskName(e.id));
  t.equal(push?.url, '/mine');
});

t.test('without any URL the send fails with a clear error', async (t) => {
  const notifier = createCloudTasksNotifier({ queue, queueName: 'notifier' });
  await t.rejects(notifier.send(event('lin-4', 'failed'), {}), /no callback URL.*NOTIFY_URL/);
});

t.test('with an invoker service account the task carries an OIDC token for the URL', async (t) => {
  const q = recordingQueue();
  const notifier = createCloudTasksNotifier({
    queue: q,
    queueName: 'notifier',
    defaultUrl: 'https://cb.example/x',
    serviceAccountEmail: 'inv@p.iam.gserviceaccount.com',
  });
  await notifier.send(event('lin-5', 'forwarded'), {});
  t.same(q.inputs[0]!.oidc, { serviceAccountEmail: 'inv@p.iam.gserviceaccount.com', audience: 'https://cb.example/x' });
  t.equal(q.inputs[0]!.queue, 'notifier');
  t.match(q.inputs[0]!.taskName!, TASK_ID);
});

t.test('different events of one lineage get different task names', async (t) => {
  t.not(notificationTaskName('lin/succeeded'), notificationTaskName('lin/failed'));
  t.not(notificationTaskName('lin/forwarded-0'), notificationTaskName('lin/forwarded-1'));
  t.match(notificationTaskName(`${'a'.repeat(500)}/forwarded-2`), TASK_ID);
});
