// The installed gcloud CLI, unmodified, against the emulator.
import t from 'tap';
import { startEmulator } from '../../src/emulator/index.ts';
import { gcloudFor } from './gcloud-cli.ts';
import { api, PARENT } from './helpers.ts';

const LOC = '--location=us-central1';

// One emulator and one gcloud config for the file: each gcloud call costs about a second.
const emu = await startEmulator({ logger: false });
const gcloud = await gcloudFor(emu.url);
t.teardown(async () => {
  gcloud.cleanup();
  await emu.close();
});

t.test('gcloud tasks queues create, describe, update, list, pause, resume, purge and delete', async (t) => {
  const created = await gcloud.run(
    'tasks',
    'queues',
    'create',
    'gq',
    LOC,
    '--max-attempts=5',
    '--min-backoff=1s',
    '--max-doublings=2',
    '--max-retry-duration=60s',
    '--max-dispatches-per-second=3',
    '--max-concurrent-dispatches=7',
  );
  t.equal(created.code, 0, created.stderr);
  const q = (await gcloud.json('tasks', 'queues', 'describe', 'gq', LOC)) as Record<string, any>;
  t.equal(q.name, `${PARENT}/queues/gq`);
  t.same(q.retryConfig, { maxAttempts: 5, minBackoff: '1s', maxBackoff: '3600s', maxDoublings: 2, maxRetryDuration: '60s' });
  t.same(q.rateLimits, { maxDispatchesPerSecond: 3, maxBurstSize: 1, maxConcurrentDispatches: 7 });
  t.equal(q.state, 'RUNNING');

  const updated = await gcloud.run('tasks', 'queues', 'update', 'gq', LOC, '--max-attempts=7', '--max-backoff=30s');
  t.equal(updated.code, 0, updated.stderr);
  const listed = (await gcloud.json('tasks', 'queues', 'list', LOC)) as Array<Record<string, any>>;
  t.equal(listed.length, 1);
  t.equal(listed[0].retryConfig.maxAttempts, 7);
  t.equal(listed[0].retryConfig.maxBackoff, '30s');
  t.equal(listed[0].retryConfig.minBackoff, '1s', 'untouched by update');

  t.equal((await gcloud.run('tasks', 'queues', 'pause', 'gq', LOC)).code, 0);
  t.equal((await api(emu.url, 'GET', `${PARENT}/queues/gq`)).json.state, 'PAUSED');
  t.equal((await gcloud.run('tasks', 'queues', 'resume', 'gq', LOC)).code, 0);
  t.equal((await api(emu.url, 'GET', `${PARENT}/queues/gq`)).json.state, 'RUNNING');
  const purged = await gcloud.run('tasks', 'queues', 'purge', 'gq', LOC);
  t.equal(purged.code, 0, purged.stderr);
  t.type((await api(emu.url, 'GET', `${PARENT}/queues/gq`)).json.purgeTime, 'string');
  t.equal((await gcloud.run('tasks', 'queues', 'delete', 'gq', LOC)).code, 0);
  const gone = await gcloud.run('tasks', 'queues', 'describe', 'gq', LOC);
  t.not(gone.code, 0);
  t.match(gone.stderr, /NOT_FOUND/);
});
