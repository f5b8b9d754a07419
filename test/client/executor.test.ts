import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createLocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { Executor, InvalidJobError, TaskFailedError } from '../../src/client/index.ts';
import type { DevStack } from '../../src/dev.ts';
import { devStack } from '../cli/capture-io.ts';
import { RecordingQueue } from '../helpers/doubles.ts';

function executorFor(s: DevStack, extra: Partial<ConstructorParameters<typeof Executor>[0]> = {}) {
  return new Executor({
    project: s.config.project,
    location: s.config.location,
    serviceUrl: s.server.url,
    emulatorHost: `127.0.0.1:${s.emulator.port}`,
    ...extra,
  });
}

t.test('enqueue then watch resolves with the succeeded record and the job output', async (t) => {
  const s = await devStack(t);
  const exe = executorFor(s);
  t.teardown(() => exe.close());
  const result = await exe.enqueue({ type: 'echo', data: { n: 1 }, id: 'sdk-ok' });
  t.equal(result.error, undefined);
  t.equal(result.id, 'sdk-ok');
  t.equal(result.taskName, `projects/${s.config.project}/locations/${s.config.location}/queues/incoming/tasks/sdk-ok`);
  const record = await result.watch({ intervalMs: 50, timeoutMs: 20_000 });
  t.equal(record.state, 'succeeded');
  t.same(await exe.output('sdk-ok'), { data: { n: 1 }, args: {} });
  t.equal((await exe.status(result))?.state, 'succeeded');
});

t.test('enqueue without an id generates a valid one that is also the task name', async (t) => {
  const s = await devStack(t);
  const exe = executorFor(s);
  t.teardown(() => exe.close());
  const result = await exe.enqueue({ type: 'echo' });
  t.match(result.id, /^[A-Za-z0-9_-]+$/);
  t.ok(result.taskName?.endsWith(`/tasks/${result.id}`));
  t.equal((await result.watch({ intervalMs: 50, timeoutMs: 20_000 })).id, result.id);
});

t.test('watch rejects with TaskFailedError carrying the record when the job fails', async (t) => {
  const s = await devStack(t);
  const exe = executorFor(s);
  t.teardown(() => exe.close());
  const result = await exe.enqueue({ type: 'echo', args: { fail: 'permanent' } });
  const err = await result.watch({ intervalMs: 50, timeoutMs: 20_000 }).catch((e: unknown) => e);
  t.ok(err instanceof TaskFailedError);
  t.equal((err as TaskFailedError).code, 'TaskFailed');
  t.equal((err as TaskFailedError).record.state, 'failed');
  t.equal((err as TaskFailedError).record.error?.code, 'EchoFailed');
});

t.test('watch follows a lineage through forwarding to its end in the last tier', async (t) => {
  const s = await devStack(t);
  const exe = executorFor(s);
  t.teardown(() => exe.close());
  // Fails retryably every attempt: tier 0 (2 attempts) forwards to tier 1 (2 attempts), which ends failed.
  const result = await exe.enqueue({ type: 'echo', args: { fail: 'retryable' } });
  const seen: string[] = [];
  const err = await result.watch({ intervalMs: 20, timeoutMs: 30_000, onProgress: (r) => seen.push(`${r.state}@${r.tier}`) }).catch((e: unknown) => e);
  t.ok(err instanceof TaskFailedError, String(err));
  t.equal((err as TaskFailedError).record.tier, 1, 'ended in the last tier');
  t.same((err as TaskFailedError).record.attempts, { '0': 2, '1': 2 });
  t.ok(
    seen.some((x) => x.endsWith('@0')),
    'progress was reported in tier 0',
  );
});

t.test('a payload over the threshold goes to the blob dir and the job still receives its data', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'executor-blobs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const s = await devStack(t, { BLOB_DIR: dir });
  const blobs = createLocalBlobStore({ dir });
  const exe = executorFor(s, { blobs, offloadThresholdBytes: 1024 });
  t.teardown(() => exe.close());
  const big = { text: 'x'.repeat(4096) };
  const result = await exe.enqueue({ type: 'echo', data: big, id: 'big-1' });
  t.equal(result.error, undefined, String(result.error));
  t.match(result.dataRef, /^file:\/\//);
  t.ok((await readdir(join(dir, 'payloads'))).includes('big-1.json'), 'the payload is in the blob dir');
  const record = await result.watch({ intervalMs: 50, timeoutMs: 20_000 });
  t.equal(record.state, 'succeeded');
  t.same(((await exe.output('big-1')) as { data: unknown }).data, big, 'the job received the offloaded data');
  const small = await exe.enqueue({ type: 'echo', data: { small: true } });
  t.equal(small.dataRef, undefined, 'a small payload stays inline');
});

t.test('the envelope: id, type, args, notify; the task carries OIDC, deadline, schedule time and JSON content type', async (t) => {
  const queue = new RecordingQueue();
  const exe = new Executor({
    project: 'p',
    location: 'l',
    queue: 'first',
    serviceUrl: 'https://svc.example/',
    taskQueue: queue,
    oidc: { serviceAccountEmail: 'invoker@p.iam.gserviceaccount.com' },
    dispatchDeadlineSeconds: 90,
  });
  const at = new Date('2030-01-02T03:04:05Z');
  const result = await exe.enqueue({
    type: 'echo',
    id: 'env-1',
    args: { a: 1 },
    data: 'd',
    notify: { url: 'https://cb.example/n' },
    scheduleTime: at.toISOString(),
  });
  t.equal(result.error, undefined);
  const task = queue.created[0]!;
  t.equal(task.queue, 'first');
  t.equal(task.taskName, 'env-1');
  t.equal(task.url, 'https://svc.example/tasks');
  t.same(JSON.parse(task.body.toString()), { id: 'env-1', type: 'echo', args: { a: 1 }, notify: { url: 'https://cb.example/n' }, data: 'd' });
  t.same(task.oidc, { serviceAccountEmail: 'invoker@p.iam.gserviceaccount.com' });
  t.equal(task.dispatchDeadlineSeconds, 90);
  t.equal(task.scheduleTime?.getTime(), at.getTime());
  t.equal(task.headers?.['Content-Type'], 'application/json');
  const again = await exe.enqueue({ type: 'echo', id: 'env-1' });
  t.equal(again.alreadyExisted, true, 'the same id again is reported, not created twice');
  t.equal(queue.created.length, 1);
});

t.test('a job that cannot be submitted comes back with Result.error and watch rejects with it', async (t) => {
  const queue = new RecordingQueue();
  const exe = new Executor({ project: 'p', location: 'l', serviceUrl: 'http://127.0.0.1:1', taskQueue: queue });
  for (const job of [
    { type: 'echo', id: 'no spaces' },
    { type: '' },
    { type: 'echo', scheduleTime: 'someday' },
    // A built-in's args are checked before sending, as execute() does (found by the README walk).
    { type: 'echo', args: { sleepMs: 'x' } },
  ]) {
    const r = await exe.enqueue(job);
    t.ok(r.error instanceof InvalidJobError, JSON.stringify(job));
    await t.rejects(r.watch(), InvalidJobError);
  }
  t.equal(queue.created.length, 0);
  queue.failNext = 1;
  const failed = await exe.enqueue({ type: 'echo' });
  t.match(failed.error?.message, /injected createTask failure/);
});

t.test('when creating the task fails, the offloaded payload is deleted again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'executor-blobs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const queue = new RecordingQueue();
  queue.failNext = 1;
  const exe = new Executor({
    project: 'p',
    location: 'l',
    serviceUrl: 'http://x',
    taskQueue: queue,
    blobs: createLocalBlobStore({ dir }),
    offloadThresholdBytes: 10,
  });
  const r = await exe.enqueue({ type: 'echo', id: 'gone', data: 'y'.repeat(100) });
  t.ok(r.error);
  t.same(await readdir(join(dir, 'payloads')), [], 'no orphaned payload');
});
