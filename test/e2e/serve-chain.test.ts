// `executor serve` as a real process, every backend real and local: the
// project's Cloud Tasks emulator (also the OIDC issuer), the gcloud Firestore
// emulator as the ledger and the gcloud Pub/Sub emulator for notifications.
// The worker is SIGKILLed while a job runs and restarted: nothing is lost.

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { CloudTasksClient } from '@google-cloud/tasks';
import { PassThroughClient } from 'google-auth-library';
import t from 'tap';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.ts';
import { freePort } from '../helpers/free-port.ts';
import { type RunningEmulator as GcloudEmulator, startGcloudEmulator } from '../helpers/gcloud-emulator.ts';
import { until } from '../helpers/until.ts';

const BIN = fileURLToPath(new URL('../../bin/executor.js', import.meta.url));
const JOBS = fileURLToPath(new URL('../fixtures/tier-jobs.mjs', import.meta.url));
const PROJECT = 'test-project';
const LOCATION = 'us-central1';
const SA = 'executor-invoker@test-project.iam.gserviceaccount.com';
const FAST = { minBackoff: '0.3s', maxBackoff: '0.6s', maxDoublings: 1, maxRetryDuration: '0s' };

interface Received {
  id: string;
  type: string;
  attributes: Record<string, string>;
  data: Record<string, unknown>;
}

t.test('a whole chain in serve mode with OIDC, Firestore and Pub/Sub survives a SIGKILL', async (t) => {
  const [firestore, pubsubEmu] = await Promise.all([
    startGcloudEmulator('firestore', { project: PROJECT }),
    startGcloudEmulator('pubsub', { project: PROJECT }),
  ]);
  t.teardown(() => Promise.all([firestore.stop(), pubsubEmu.stop()]));
  const tasks: RunningEmulator = await startEmulator({ host: '127.0.0.1', port: 0, logger: false });
  t.teardown(() => tasks.close());
  // Queues with unlimited attempts: the executor's CHAIN count decides, so the
  // pushes lost while the worker is down do not end the task.
  for (const q of ['incoming', 'incoming-2']) await tasks.ensureQueue(PROJECT, LOCATION, q, { ...FAST, maxAttempts: -1 });

  // Pub/Sub: topic and a subscription collecting every notification.
  process.env.PUBSUB_EMULATOR_HOST = pubsubEmu.host;
  t.teardown(() => {
    delete process.env.PUBSUB_EMULATOR_HOST;
  });
  const pubsub = new PubSub({ projectId: PROJECT });
  t.teardown(() => pubsub.close());
  const [topic] = await pubsub.createTopic('executor-events');
  const [sub] = await topic.createSubscription('all-events');
  const received: Received[] = [];
  sub.on('message', (m: Message) => {
    received.push({ id: m.attributes['ce-id']!, type: m.attributes['ce-type']!, attributes: m.attributes, data: JSON.parse(m.data.toString()) });
    m.ack();
  });
  t.teardown(() => sub.close());

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = worker(port, tasks, firestore, pubsubEmu);
  let proc = await startWorker(env, url);
  t.teardown(() => proc.kill('SIGKILL'));

  // Unauthenticated pushes are refused.
  t.equal((await fetch(`${url}/tasks`, { method: 'POST', body: '{"type":"echo"}' })).status, 401);

  const client = new CloudTasksClient({ fallback: true, apiEndpoint: '127.0.0.1', port: tasks.port, protocol: 'http', auth: new PassThroughClient() } as never);
  t.teardown(() => client.close());
  const create = (id: string, body: unknown) => {
    const parent = client.queuePath(PROJECT, LOCATION, 'incoming');
    return client.createTask({
      parent,
      task: {
        name: `${parent}/tasks/${id}`,
        httpRequest: { url: `${url}/tasks`, httpMethod: 'POST', body: Buffer.from(JSON.stringify(body)), oidcToken: { serviceAccountEmail: SA } },
      },
    });
  };

  // 1. A lineage that fails everywhere walks both tiers and fails once.
  await create('walks-chain', { type: 'tiered' });
  // 2. A lineage whose job is running when the worker is killed.
  await create('killed', { type: 'echo', args: { sleepMs: 1500 }, data: { keep: 'me' } });

  await until('the killed job to be running', async () => {
    const r = await fetch(`${url}/v1/tasks/killed`, { headers: await bearer(tasks, url) });
    return r.ok && (await r.json()).state === 'running' ? true : undefined;
  });
  proc.kill('SIGKILL');
  await new Promise((r) => proc.once('exit', r));
  proc = await startWorker(env, url);

  const done = await until('both terminal events', async () => {
    const failed = received.find((e) => e.id === 'walks-chain/failed');
    const ok = received.find((e) => e.id === 'killed/succeeded');
    return failed && ok ? { failed, ok } : undefined;
  }).catch(async (err) => {
    const state = async (id: string) => (await fetch(`${url}/v1/tasks/${id}`, { headers: await bearer(tasks, url) })).text();
    t.comment(`received: ${JSON.stringify(received.map((e) => e.id))}`);
    t.comment(`walks-chain: ${await state('walks-chain')}`);
    t.comment(`killed: ${await state('killed')}`);
    throw err;
  });
  await new Promise((r) => setTimeout(r, 1000)); // late duplicates would arrive now

  t.equal(done.ok.type, 'executor.task.succeeded');
  t.same(done.ok.data.result, { data: { keep: 'me' }, args: { sleepMs: 1500 } }, 'the job ran to the end after the restart');
  t.ok((done.ok.data.attempt as number) >= 2, 'the killed attempt was counted');
  t.equal(done.ok.attributes['ce-subject'], 'killed');
  t.equal(done.ok.attributes.type, 'succeeded');

  t.equal(done.failed.data.queue, 'incoming-2');
  t.equal(done.failed.data.tier, 1);
  const hops = received.filter((e) => e.id === 'walks-chain/forwarded-0');
  t.ok(hops.length >= 1, 'the hop was notified');
  t.equal(new Set(received.filter((e) => e.type !== 'executor.task.forwarded').map((e) => e.id)).size, 2, 'one terminal event id per lineage');

  // The ledger kept everything across the restart (Firestore).
  const rec = await (await fetch(`${url}/v1/tasks/walks-chain`, { headers: await bearer(tasks, url) })).json();
  t.equal(rec.state, 'failed');
  // Pushes that failed while the worker was down count too (RetryCount), so
  // tier 0 may show more than 2; the first push the worker saw at or past 2 forwarded.
  t.ok(rec.attempts['0'] >= 2, `tier 0 counted ${rec.attempts['0']} attempts`);
  t.equal(rec.attempts['1'], 2, 'tier 1 ended at its maxAttempts');
  const killed = await (await fetch(`${url}/v1/tasks/killed`, { headers: await bearer(tasks, url) })).json();
  t.equal(killed.state, 'succeeded');
  t.ok(killed.history.length >= 2, 'the interrupted attempt is in the history');
  t.equal(killed.crashes, 1, 'the SIGKILLed attempt counted as a crash (its lease expired)');
  t.equal(killed.history[0].outcome, 'crashed');
});

function worker(port: number, tasks: RunningEmulator, firestore: GcloudEmulator, pubsub: GcloudEmulator): NodeJS.ProcessEnv {
  const url = `http://127.0.0.1:${port}`;
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(port),
    HOST: '127.0.0.1',
    GOOGLE_CLOUD_PROJECT: PROJECT,
    LOCATION,
    SERVICE_URL: url,
    CHAIN: 'incoming:2,incoming-2:2',
    AUTH: 'oidc',
    OIDC_ISSUER: tasks.url,
    OIDC_CERTS_URL: `${tasks.url}/oauth2/v1/certs`,
    OIDC_INVOKERS: SA,
    INVOKER_SERVICE_ACCOUNT: SA,
    LEDGER: 'firestore',
    FIRESTORE_COLLECTION_PREFIX: `e2e${Date.now()}`,
    FIRESTORE_EMULATOR_HOST: firestore.host,
    PUBSUB_EMULATOR_HOST: pubsub.host,
    CLOUD_TASKS_EMULATOR_HOST: `127.0.0.1:${tasks.port}`,
    NOTIFY_QUEUE: '',
    NOTIFY_TOPIC: `projects/${PROJECT}/topics/executor-events`,
    NOTIFY_ON: 'all',
    JOBS_MODULE: JOBS,
    // The killed attempt's run lease expires after JOB_TIMEOUT + LEASE_MARGIN;
    // until then its retries are refused (429) so it never runs twice at once.
    JOB_TIMEOUT: '5s',
    LEASE_MARGIN: '2s',
    LOG_LEVEL: 'warn',
  };
}

async function startWorker(env: NodeJS.ProcessEnv, url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  await until('the worker to listen', async () => {
    try {
      return (await fetch(`${url}/healthz`)).ok ? true : undefined;
    } catch {
      return undefined;
    }
  });
  return child;
}

/** An operator call's token, from the emulator acting as the metadata server. */
async function bearer(tasks: RunningEmulator, audience: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${tasks.issuer.signIdToken({ audience, email: SA })}` };
}
