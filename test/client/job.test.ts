import t from 'tap';
import { Executor, InvalidJobError, JOB_STATES, Job, JobFailedError, JobWatchTimeoutError } from '../../src/client/index.ts';
import type { DevStack } from '../../src/dev.ts';
import { devStack } from '../cli/capture-io.ts';
import { RecordingQueue } from '../helpers/doubles.ts';
import { until } from '../helpers/until.ts';

function executorFor(s: DevStack, extra: Partial<ConstructorParameters<typeof Executor>[0]> = {}) {
  return new Executor({
    project: s.config.project,
    location: s.config.location,
    serviceUrl: s.server.url,
    emulatorHost: `127.0.0.1:${s.emulator.port}`,
    ...extra,
  });
}

t.test('a job of 20 tasks with mixed outcomes reports exactly the failing ones, their errors, and one job.completed event', async (t) => {
  const s = await devStack(t);
  const exe = executorFor(s, { namespace: 'batch', business: 'acme' });
  t.teardown(() => exe.close());
  const failing = new Set([3, 11, 17]);
  const job = new Job({
    id: 'mixed',
    tasks: Array.from({ length: 20 }, (_, i) => ({
      type: 'echo',
      name: `part-${i}`,
      data: { i },
      // 3, 11, 17 fail for good; 5 fails once then succeeds; 13 walks the chain and fails in the last tier.
      args: failing.has(i) ? { fail: 'permanent' as const } : i === 5 ? { failUntilAttempt: 2 } : {},
    })).concat([]),
  });
  job.tasks[13]!.args = { fail: 'retryable' };
  const result = await exe.execute(job);
  t.equal(result.error, undefined);
  t.equal(job.currentState(), 'Job Message Published');
  const err = await result.watch({ intervalMs: 100, timeoutMs: 60_000 }).catch((e: unknown) => e);
  t.ok(err instanceof JobFailedError, String(err));
  t.equal((err as JobFailedError).code, 'JobFailed');
  t.same(job.states, ['Job Created', 'Task Data Uploading', 'Job Message Published', 'Running', 'Failed'], "the seed's order");
  t.equal(job.currentState(), 'Failed');
  t.ok(job.hasErrors());
  t.same(
    job.tasksInError().map((task) => task.id),
    ['mixed-3', 'mixed-11', 'mixed-13', 'mixed-17'],
  );
  t.same(
    (err as JobFailedError).tasksInError.map((task) => task.index),
    [3, 11, 13, 17],
  );
  for (const task of job.tasksInError()) {
    t.ok(task.errors().length >= 1, `${task.label} has errors`);
    t.ok(
      task.errors().every((e) => e.code === 'EchoFailed'),
      `${task.label}: every error is the job's`,
    );
  }
  t.equal(job.tasks[13]!.errors().length, 4, 'task 13: every attempt of both tiers (2 + 2)');
  t.equal(job.tasks[5]!.state, 'succeeded');
  t.same(
    job.tasks[5]!.errors().map((e) => e.code),
    ['EchoFailed'],
    'a task that recovered keeps its earlier error',
  );

  const events = await until('the job.completed event', () => {
    const e = s.sink.list({ type: 'executor.job.completed' });
    return e.length ? e : undefined;
  });
  // Give a duplicate every chance to show up before counting.
  await new Promise((r) => setTimeout(r, 1000));
  const completed = s.sink.list({ type: 'executor.job.completed' });
  t.equal(completed.length, 1, 'exactly one executor.job.completed');
  t.equal(events[0]!.id, 'mixed/completed');
  t.match(events[0]!.data, {
    id: 'mixed',
    size: 20,
    counts: { succeeded: 16, failed: 4, cancelled: 0 },
    tasksInError: ['mixed-3', 'mixed-11', 'mixed-13', 'mixed-17'],
    labels: { namespace: 'batch', business: 'acme' },
  });
  const taskEvent = s.sink.list({ id: 'mixed-0', type: 'executor.task.succeeded' })[0];
  t.same(taskEvent?.data.labels, { namespace: 'batch', business: 'acme' }, 'task notifications carry the labels');
  const status = await exe.operator.job('mixed');
  t.same(status?.counts, { succeeded: 16, failed: 4 });
  t.ok(status?.completedAt);
  // Jobs show in the run list: each task's row names its job.
  const listed = await exe.operator.list({ pageSize: 100 });
  const rows = listed.tasks.filter((x) => x.job?.id === 'mixed');
  t.equal(rows.length, 20, 'every task of the job is in the run list');
  t.same(rows.find((x) => x.id === 'mixed-13')?.job, { id: 'mixed', size: 20, index: 13, name: 'part-13' });
});

t.test('a bad arg in task 7 fails the whole submission, naming the task, and enqueues nothing', async (t) => {
  const queue = new RecordingQueue();
  const exe = new Executor({ project: 'p', location: 'l', serviceUrl: 'http://127.0.0.1:9', taskQueue: queue });
  const job = new Job({
    id: 'bad7',
    tasks: Array.from({ length: 10 }, (_, i) => ({ type: 'echo', args: i === 7 ? { sleepMs: 'soon' } : {}, name: i === 7 ? 'seventh' : undefined })),
  });
  const result = await exe.execute(job);
  t.ok(result.error instanceof InvalidJobError);
  t.match(result.error!.message, /job bad7, task 7 \("seventh"\): WrongArgType/);
  t.equal(queue.created.length, 0, 'no task was created');
  t.equal(job.currentState(), 'Job Created');
  await t.rejects(result.watch(), InvalidJobError);
  // An unknown type is checked for shape only; a known one fully.
  const unknown = await exe.execute({ tasks: [{ type: 'resize-image', args: { anything: 1 } }] });
  t.equal(unknown.error, undefined);
  t.equal(queue.created.length, 1);
  t.same(JSON.parse(queue.created[0]!.body.toString()).job, { id: unknown.job.id, size: 1, index: 0 });
});

t.test('a failing createTask half-way takes back the tasks already created', async (t) => {
  const queue = new RecordingQueue();
  let calls = 0;
  const create = queue.createTask.bind(queue);
  queue.createTask = async (input) => {
    if (++calls === 5) throw new Error('injected createTask failure');
    return create(input);
  };
  const exe = new Executor({ project: 'p', location: 'l', serviceUrl: 'http://127.0.0.1:9', taskQueue: queue });
  const result = await exe.execute({ id: 'half', tasks: Array.from({ length: 8 }, () => ({ type: 'echo' })) });
  t.match(result.error?.message, /injected/);
  t.equal(queue.names.size, 0, 'every created task was deleted again');
});

t.test('cancel of a job with running and waiting tasks stops them all and completes the job once', async (t) => {
  const s = await devStack(t, { MAX_CONCURRENCY: '2' });
  const exe = executorFor(s);
  t.teardown(() => exe.close());
  const result = await exe.execute({ id: 'stopme', tasks: Array.from({ length: 5 }, () => ({ type: 'echo', args: { sleepMs: 60_000 } })) });
  t.equal(result.error, undefined);
  await until('two tasks running', async () => {
    const st = await exe.operator.job('stopme', 5);
    return (st?.counts.running ?? 0) >= 2 ? st : undefined;
  });
  const early = await result.watch({ intervalMs: 50, timeoutMs: 300 }).catch((e: unknown) => e);
  t.ok(early instanceof JobWatchTimeoutError, 'watch gives up after timeoutMs while tasks still run');
  t.match((early as Error).message, /stopme had not ended after 300 ms/);
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('stop watching')), 100);
  await t.rejects(result.watch({ intervalMs: 50, signal: ac.signal }), /stop watching/, 'an abort ends the watch with its reason');
  const out = await exe.cancel(job(result));
  t.equal(out.cancelled.length, 5, 'all five cancelled');
  t.equal(result.job.currentState(), 'Cancelled');
  const err = await result.watch({ intervalMs: 50, timeoutMs: 10_000 }).catch((e: unknown) => e);
  t.equal((err as JobFailedError).code, 'JobCancelled');
  const st = await exe.operator.job('stopme');
  t.same(st?.counts, { cancelled: 5 });
  await until('running deliveries aborted', () => (s.server.app.delivery.running === 0 ? true : undefined));
  await until('the job.completed event', () => (s.sink.list({ type: 'executor.job.completed' }).length ? true : undefined));
  await new Promise((r) => setTimeout(r, 1000));
  const events = s.sink.list({ type: 'executor.job.completed' });
  t.equal(events.length, 1);
  t.match(events[0]!.data, { counts: { succeeded: 0, failed: 0, cancelled: 5 }, tasksInError: [] });
});

t.test('JOB_STATES lists the seed names in order', async (t) => {
  t.same(JOB_STATES, ['Job Created', 'Task Data Uploading', 'Job Message Published', 'Running', 'Succeeded', 'Failed', 'Cancelled']);
});

function job(r: { job: Job }): Job {
  return r.job;
}

t.test('submitting through a topic without a bucket fails before anything is sent', async (t) => {
  const exe = new Executor({ project: 'p', location: 'l', serviceUrl: 'http://127.0.0.1:9', taskQueue: new RecordingQueue(), topic: 'incoming' });
  const result = await exe.execute({ id: 'nobucket', tasks: [{ type: 'echo', data: { a: 1 } }] });
  t.match(result.error?.message, /job nobucket: task data must go to a bucket when submitting through a topic/);
  t.equal(result.job.currentState(), 'Job Created', 'nothing uploaded or published');
});
