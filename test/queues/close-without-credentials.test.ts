// Without Google credentials (a laptop, CI) the SDK reports the problem on
// result.error and close() still resolves: it used to reject with the
// credentials error, which crashed a script that awaited it at top level.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Executor } from '../../src/client/index.ts';
import { createCloudTasksQueue } from '../../src/queues/cloud-tasks-queue.ts';

// This process only (tap runs each file alone): credentials that cannot be loaded.
const dir = mkdtempSync(join(tmpdir(), 'no-creds-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
process.env.GOOGLE_APPLICATION_CREDENTIALS = join(dir, 'missing-key.json');
process.env.GCE_METADATA_HOST = '127.0.0.1:1';
delete process.env.CLOUD_TASKS_EMULATOR_HOST;

t.test('enqueue without credentials fails on result.error, and close() resolves', async (t) => {
  const exe = new Executor({ project: 'p', location: 'us-central1', serviceUrl: 'http://127.0.0.1:1' });
  const result = await exe.enqueue({ type: 'echo' });
  t.ok(result.error, 'not submitted');
  await t.resolves(exe.close(), 'close() after a stub that never came up');
});

t.test('every queue call without credentials rejects to its caller, and leaves no unhandled rejection behind', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => process.removeListener('unhandledRejection', onUnhandled));
  const queue = createCloudTasksQueue({ project: 'p', location: 'us-central1' });
  await t.rejects(queue.createTask({ queue: 'incoming', taskName: 'a', url: 'http://127.0.0.1:1/tasks', body: Buffer.from('{}') }), /credential/);
  await t.rejects(queue.deleteTask('incoming', 'a'), /credential/);
  await t.rejects(queue.getTask!('incoming', 'a'), /credential/);
  await t.rejects(queue.getQueue('incoming'), /credential/);
  await queue.close();
  await new Promise((r) => setTimeout(r, 200));
  t.same(unhandled, [], 'no unhandled rejection');
});
