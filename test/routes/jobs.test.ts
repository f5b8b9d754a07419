// GET /v1/jobs/:id and POST /v1/jobs/:id/cancel over the memory ledger, with
// recording doubles for the queue and the notifier.

import pino from 'pino';
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { systemClock } from '../../src/interfaces.ts';
import { echoJob } from '../../src/jobs/echo-job.ts';
import { createRegistry } from '../../src/jobs/registry.ts';
import { createMemoryLedger } from '../../src/ledger/memory-ledger.ts';
import { RecordingNotifier, RecordingQueue } from '../helpers/doubles.ts';

function setup(t: { teardown(fn: () => unknown): void }) {
  const config = loadConfig(
    { CHAIN: 'incoming:2,incoming-2:2', SERVICE_URL: 'http://worker.test', NOTIFY_ON: 'all', GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'l' },
    'dev',
  );
  const queue = new RecordingQueue();
  const notifier = new RecordingNotifier();
  const ledger = createMemoryLedger({});
  const built = buildApp(config, { ledger, queue, notifier, registry: createRegistry([echoJob()]), clock: systemClock, logger: pino({ level: 'silent' }) });
  t.teardown(() => built.app.close());
  const push = (envelope: Record<string, unknown>) =>
    built.app.inject({
      method: 'POST',
      url: '/tasks',
      headers: { 'x-cloudtasks-queuename': 'incoming', 'x-cloudtasks-taskname': String(envelope.id) },
      payload: JSON.stringify(envelope),
    });
  return { built, queue, notifier, ledger, push };
}

const task = (job: string, size: number, index: number, extra: Record<string, unknown> = {}) => ({
  id: `${job}-${index}`,
  type: 'echo',
  job: { id: job, size, index, name: `n${index}` },
  labels: { business: 'acme' },
  ...extra,
});

t.test('GET /v1/jobs/:id lists every task with its state and errors; the last end sends one job.completed', async (t) => {
  const s = setup(t);
  t.equal((await s.built.app.inject({ method: 'GET', url: '/v1/jobs/j1' })).statusCode, 404, 'unknown before any task was seen');
  await s.push(task('j1', 3, 0));
  const mid = (await s.built.app.inject({ method: 'GET', url: '/v1/jobs/j1' })).json();
  t.same(mid.counts, { succeeded: 1, pending: 2 }, 'size known from a task: the others are pending');
  t.same(
    mid.tasks.map((x: { name?: string }) => x.name),
    ['n0', undefined, undefined],
  );
  await s.push(task('j1', 3, 1, { args: { fail: 'permanent' } }));
  t.equal(s.notifier.events.filter((e) => e.event.type === 'executor.job.completed').length, 0, 'not before the last task');
  await s.push(task('j1', 3, 2));
  const done = (await s.built.app.inject({ method: 'GET', url: '/v1/jobs/j1' })).json();
  t.same(done.counts, { succeeded: 2, failed: 1 });
  t.same(done.tasksInError, ['j1-1']);
  t.same(done.labels, { business: 'acme' });
  t.ok(done.completedAt);
  t.match(done.tasks[1], { id: 'j1-1', index: 1, name: 'n1', type: 'echo', state: 'failed', errors: [{ code: 'EchoFailed', permanent: true }] });
  // A duplicate delivery of an ended task counts nothing twice.
  await s.push(task('j1', 3, 2));
  const events = s.notifier.events.filter((e) => e.event.type === 'executor.job.completed');
  t.equal(events.length, 1, 'exactly one executor.job.completed');
  t.equal(events[0]!.event.id, 'j1/completed');
  t.match(events[0]!.event.data, {
    id: 'j1',
    size: 3,
    counts: { succeeded: 2, failed: 1, cancelled: 0 },
    tasksInError: ['j1-1'],
    labels: { business: 'acme' },
  });
});

t.test('POST /v1/jobs/:id/cancel cancels tasks no worker has seen: their later delivery runs nothing', async (t) => {
  const s = setup(t);
  t.equal((await s.built.app.inject({ method: 'POST', url: '/v1/jobs/j2/cancel', payload: {} })).statusCode, 404, 'size unknown: 404');
  await s.push(task('j2', 3, 0));
  const res = await s.built.app.inject({ method: 'POST', url: '/v1/jobs/j2/cancel?size=3', payload: {} });
  t.equal(res.statusCode, 200);
  t.same(res.json().cancelled, ['j2-1', 'j2-2']);
  t.same(res.json().alreadyEnded, ['j2-0']);
  t.same(s.queue.deleted.map((d) => `${d.queue}/${d.taskName}`).sort(), ['incoming/j2-1', 'incoming/j2-2'], 'their queued tasks deleted');
  const late = await s.push(task('j2', 3, 1));
  t.equal(late.json().outcome, 'duplicate', 'a delivery already on its way runs nothing');
  const status = (await s.built.app.inject({ method: 'GET', url: '/v1/jobs/j2' })).json();
  t.same(status.counts, { succeeded: 1, cancelled: 2 });
  t.same(status.tasksInError, [], 'cancelled is not an error');
  const events = s.notifier.events.filter((e) => e.event.type === 'executor.job.completed');
  t.equal(events.length, 1);
  t.match(events[0]!.event.data, { counts: { succeeded: 1, failed: 0, cancelled: 2 } });
});

t.test('cancelling one task of a job through /v1/tasks/:id/cancel counts toward the job', async (t) => {
  const s = setup(t);
  await s.push(task('j3', 2, 0));
  const started = s.push(task('j3', 2, 1, { args: { sleepMs: 30_000 } }));
  for (let i = 0; i < 200 && (await s.ledger.get('j3-1'))?.state !== 'running'; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal((await s.built.app.inject({ method: 'POST', url: '/v1/tasks/j3-1/cancel', payload: {} })).statusCode, 200);
  await started;
  const status = (await s.built.app.inject({ method: 'GET', url: '/v1/jobs/j3' })).json();
  t.same(status.counts, { succeeded: 1, cancelled: 1 });
  t.equal(s.notifier.events.filter((e) => e.event.type === 'executor.job.completed').length, 1);
});
