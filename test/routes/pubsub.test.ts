// POST /pubsub: Pub/Sub push envelopes through the same delivery decision.

import { PubSub } from '@google-cloud/pubsub';
import pino from 'pino';
import t from 'tap';
import { buildApp, type Deps } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { JobResult } from '../../src/interfaces.ts';
import { createRegistry } from '../../src/jobs/registry.ts';
import { createMemoryLedger } from '../../src/ledger/memory-ledger.ts';
import { manualClock, RecordingNotifier, RecordingQueue, scriptedJob } from '../helpers/doubles.ts';
import { startGcloudEmulator } from '../helpers/gcloud-emulator.ts';

function setup(t: { teardown(fn: () => unknown): void }, result: () => Promise<JobResult>) {
  const config = loadConfig(
    { CHAIN: 'orders:3#orders-push,orders-2:2', SERVICE_URL: 'http://worker.test', NOTIFY_ON: 'all', GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'l' },
    'dev',
  );
  const queue = new RecordingQueue();
  const notifier = new RecordingNotifier();
  const clock = manualClock();
  // The ledger reads the same clock: records stamped on the manual clock's day must not look expired by the wall clock.
  const ledger = createMemoryLedger({ clock });
  const job = scriptedJob('work', result);
  const deps: Deps = { ledger, queue, notifier, registry: createRegistry([job]), clock, logger: pino({ level: 'silent' }) };
  const built = buildApp(config, deps);
  t.teardown(() => built.app.close());
  const push = (envelope: unknown, extra: { deliveryAttempt?: number; subscription?: string; messageId?: string } = {}) =>
    built.app.inject({
      method: 'POST',
      url: '/pubsub',
      payload: {
        message: {
          data: Buffer.from(typeof envelope === 'string' ? envelope : JSON.stringify(envelope)).toString('base64'),
          messageId: extra.messageId ?? '1001',
          attributes: {},
        },
        subscription: extra.subscription ?? 'projects/p/subscriptions/orders-push',
        ...(extra.deliveryAttempt ? { deliveryAttempt: extra.deliveryAttempt } : {}),
      },
    });
  return { built, queue, notifier, ledger, job, push };
}

const down = async (): Promise<JobResult> => ({ state: 'failed', error: { code: 'Down', message: 'x', permanent: false } });

t.test('a Pub/Sub push runs the job and acknowledges with 200', async (t) => {
  const s = setup(t, async () => ({ state: 'succeeded', result: 1 }));
  const res = await s.push({ type: 'work', id: 'order-7' });
  t.equal(res.statusCode, 200);
  t.equal(res.json().outcome, 'succeeded');
  t.equal(s.job.calls[0]?.tier, 0, 'the subscription named in CHAIN gives the tier');
  t.same(s.notifier.types(), ['executor.task.succeeded']);
});

t.test('deliveryAttempt counts attempts: a retryable failure answers 503 until the final one forwards', async (t) => {
  const s = setup(t, down);
  t.equal((await s.push({ type: 'work' }, { deliveryAttempt: 1 })).statusCode, 503, 'not acknowledged: Pub/Sub redelivers');
  const last = await s.push({ type: 'work' }, { deliveryAttempt: 3 });
  t.equal(last.statusCode, 200);
  t.equal(last.json().outcome, 'forwarded');
  t.equal(s.queue.created[0]?.queue, 'orders-2', 'the next tier is a Cloud Tasks queue');
  t.equal(JSON.parse(s.queue.created[0]!.body.toString()).id, 'pubsub-1001', 'the message id names the lineage');
});

t.test('without deliveryAttempt the ledger counts redeliveries of one message', async (t) => {
  const s = setup(t, down);
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await s.push({ type: 'work' })).statusCode);
  t.same(codes, [503, 503, 200]);
});

t.test('malformed message data is acknowledged as a permanent failure', async (t) => {
  const s = setup(t, down);
  const res = await s.push('not json');
  t.equal(res.statusCode, 200);
  t.equal(res.json().outcome, 'failed');
  t.same(s.notifier.types(), ['executor.task.failed']);
});

t.test('a subscription not in CHAIN is served as tier 0', async (t) => {
  const s = setup(t, async () => ({ state: 'succeeded' }));
  const res = await s.push({ type: 'work' }, { subscription: 'projects/p/subscriptions/other' });
  t.equal(res.statusCode, 200);
  t.equal(s.job.calls[0]?.tier, 0);
});

t.test('the gcloud Pub/Sub emulator pushes to /pubsub and the message is acknowledged once', async (t) => {
  const emu = await startGcloudEmulator('pubsub', { project: 'p' });
  t.teardown(() => emu.stop());
  const s = setup(t, async () => ({ state: 'succeeded', result: 'done' }));
  await s.built.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (s.built.app.server.address() as { port: number }).port;
  const pubsub = new PubSub({ projectId: 'p', apiEndpoint: emu.host, emulatorMode: true } as never);
  t.teardown(() => pubsub.close());
  const [topic] = await pubsub.createTopic('orders');
  await topic.createSubscription('orders-push', { pushConfig: { pushEndpoint: `http://127.0.0.1:${port}/pubsub` } });
  await topic.publishMessage({ data: Buffer.from(JSON.stringify({ type: 'work', id: 'pushed-1' })) });
  const end = Date.now() + 20000;
  while (!s.notifier.events.length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  t.same(s.notifier.types(), ['executor.task.succeeded']);
  t.equal((await s.ledger.get('pushed-1'))?.state, 'succeeded');
  await new Promise((r) => setTimeout(r, 500));
  t.equal(s.job.calls.length, 1, '2xx acknowledged it: no redelivery');
});
