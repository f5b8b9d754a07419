import { setTimeout as sleep } from 'node:timers/promises';
import { PubSub } from '@google-cloud/pubsub';
import t from 'tap';
import { createRegistry, defineJob, echoJob } from '../../src/jobs/index.ts';
import { startGcloudEmulator } from '../helpers/gcloud-emulator.ts';
import { chainEnv, collectNotifications, createChain, names, PROJECT, pullEnv, startInProcess, until } from './pull-stack.ts';

// Starts the Java emulator and (here) real processes, and waits for Pub/Sub
// redeliveries: on a busy 2-core machine that outlasts tap's default per file.
t.setTimeout(300_000);
const emulator = await startGcloudEmulator('pubsub', { project: PROJECT });
t.teardown(() => emulator.stop());
// The Pub/Sub client reads this itself when it is constructed.
process.env.PUBSUB_EMULATOR_HOST = emulator.host;
const pubsub = new PubSub({ projectId: PROJECT });
t.teardown(() => pubsub.close());

const publish = (topic: string, envelope: unknown) => pubsub.topic(topic).publishMessage({ json: envelope });

t.test('a 2-tier chain: exhausted in tier 0, forwarded through the next topic, one failed notification with the attempt counts', async (t) => {
  const n = names(2);
  await createChain(pubsub, n);
  const notes = collectNotifications(pubsub, n);
  t.teardown(() => notes.close());
  const pull = await startInProcess(pullEnv(n, chainEnv(n, [2, 3])));
  t.teardown(() => pull.stop());
  await publish(n.topics[0]!, { id: 'walks-chain', type: 'echo', args: { fail: 'retryable' } });
  const failed = await until('the failed notification', () => notes.events.find((e) => e.type === 'executor.task.failed'));
  t.match(failed.data, { id: 'walks-chain', tier: 1, attempt: 3, maxAttempts: 3, state: 'failed', error: { code: 'EchoFailed' } });
  const forwarded = notes.events.filter((e) => e.type === 'executor.task.forwarded');
  t.equal(forwarded.length, 1);
  t.match(forwarded[0]!.data, { tier: 0, attempt: 2, maxAttempts: 2, nextQueue: n.topics[1] });
  const record = await pull.app.app.inject({ method: 'GET', url: '/v1/tasks/walks-chain' }).then((r) => r.json());
  t.same(record.attempts, { '0': 2, '1': 3 });
  t.equal(record.state, 'failed');
  await sleep(1500);
  t.equal(notes.events.filter((e) => e.type === 'executor.task.failed').length, 1, 'exactly one failed notification');
  t.equal(pull.worker.stats().running, 0);
  // Health probes are served in pull mode.
  t.equal((await pull.app.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  t.equal((await pull.app.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
});

t.test('a burst of 500 messages never runs more than MAX_CONCURRENCY jobs at once, and all succeed', async (t) => {
  const n = names(1);
  await createChain(pubsub, n);
  const MAX = 8;
  let now = 0;
  let peak = 0;
  let done = 0;
  const registry = createRegistry([
    echoJob(),
    defineJob({
      type: 'count',
      async run(_args, _data, ctx) {
        now++;
        peak = Math.max(peak, now);
        try {
          await sleep(20, undefined, { signal: ctx.signal });
        } finally {
          now--;
        }
        done++;
        return { ok: true };
      },
    }),
  ]);
  const pull = await startInProcess(pullEnv(n, chainEnv(n, [3]), { MAX_CONCURRENCY: String(MAX), NOTIFY_ON: 'failed' }), { registry });
  t.teardown(() => pull.stop());
  const topic = pubsub.topic(n.topics[0]!, { batching: { maxMessages: 100 } });
  await Promise.all(Array.from({ length: 500 }, (_, i) => topic.publishMessage({ json: { id: `burst-${i}`, type: 'count' } })));
  await until('500 jobs done', () => done >= 500, 240_000);
  await until('500 acks', () => pull.worker.stats().acked >= 500, 60_000);
  const stats = pull.worker.stats();
  t.comment(`peak concurrency under a burst of 500 with MAX_CONCURRENCY=${MAX}: jobs ${peak}, worker slots ${stats.peak}`);
  t.ok(peak <= MAX, `peak ${peak} <= ${MAX}`);
  t.ok(stats.peak <= MAX, `worker peak ${stats.peak} <= ${MAX}`);
  t.ok(peak > 1, 'jobs did run in parallel');
  t.equal(done, 500, 'each message ran once');
});

t.test('SIGTERM-like stop drains: a running job finishes and its message is acked; waiting ones are nacked', async (t) => {
  const n = names(1);
  await createChain(pubsub, n);
  const notes = collectNotifications(pubsub, n);
  t.teardown(() => notes.close());
  const pull = await startInProcess(pullEnv(n, chainEnv(n, [3]), { MAX_CONCURRENCY: '1', PULL_MAX_MESSAGES: '5', SHUTDOWN_GRACE: '30s' }));
  await publish(n.topics[0]!, { id: 'drain-1', type: 'echo', args: { sleepMs: 1500 } });
  await until('the job running', () => pull.worker.stats().running === 1);
  await publish(n.topics[0]!, { id: 'drain-2', type: 'echo' });
  await until('drain-2 held, waiting for the slot', () => pull.worker.stats().waiting === 1);
  await pull.stop();
  const stats = pull.worker.stats();
  t.equal(stats.running, 0);
  t.equal(stats.acked, 1, 'the running job was acked');
  t.equal(stats.nacked, 1, 'the waiting message was nacked, not run');
  await until('drain-1 succeeded notification', () => notes.events.find((e) => e.subject === 'drain-1' && e.type === 'executor.task.succeeded'));
  t.notOk(
    notes.events.find((e) => e.subject === 'drain-1' && e.type === 'executor.task.failed'),
    'not aborted',
  );
  t.notOk(
    notes.events.find((e) => e.subject === 'drain-2'),
    'the waiting message never ran here',
  );
});

t.test('attempts count Pub/Sub deliveryAttempt (dead-letter policy) as well as the ledger', async (t) => {
  const n = names(1);
  const [topic] = await pubsub.createTopic(n.topics[0]!);
  const [dead] = await pubsub.createTopic(`${n.prefix}-dead`);
  await topic.createSubscription(n.subs[0]!, { ackDeadlineSeconds: 10, deadLetterPolicy: { deadLetterTopic: dead.name, maxDeliveryAttempts: 10 } });
  await pubsub.createTopic(n.notify).then(([nt]) => nt.createSubscription(`${n.notify}-read`));
  await publish(n.topics[0]!, { id: 'counted', type: 'echo', args: { failUntilAttempt: 3 } });
  // Two deliveries that never reach the executor (another consumer nacks them).
  const raw = pubsub.subscription(n.subs[0]!);
  const seen: number[] = [];
  raw.on('message', (m) => {
    seen.push(m.deliveryAttempt);
    m.nack();
  });
  await until('two raw deliveries', () => seen.length >= 2);
  await raw.close();
  const pull = await startInProcess(pullEnv(n, chainEnv(n, [5])));
  t.teardown(() => pull.stop());
  const record = await until('the lineage succeeded', async (): Promise<{ attempts: Record<string, number>; history: unknown[] } | undefined> => {
    const r = await pull.app.app.inject({ method: 'GET', url: '/v1/tasks/counted' });
    return r.statusCode === 200 && r.json().state === 'succeeded' ? r.json() : undefined;
  });
  t.ok(seen[0]! >= 1 && seen[1]! >= 2, `the emulator counted deliveries: ${seen.join(',')}`);
  t.ok(record.attempts['0'] >= 3, `attempt ${record.attempts['0']} >= 3: the third delivery, not the ledger's first`);
  t.equal(record.history.length, 1, 'the job ran once: failUntilAttempt 3 was met on its first run');
});

t.test('a subscription that does not exist yet: /readyz 503 naming it; once created, pulling starts without a restart', async (t) => {
  const n = names(1);
  // The chain's topics and the notify topic exist; the tier's subscription does not.
  await pubsub.createTopic(n.topics[0]!);
  const [notifyTopic] = await pubsub.createTopic(n.notify);
  await notifyTopic.createSubscription(`${n.notify}-read`);
  const notes = collectNotifications(pubsub, n);
  t.teardown(() => notes.close());
  const pull = await startInProcess(pullEnv(n, chainEnv(n, [3])));
  t.teardown(() => pull.stop());
  const ready = () => pull.app.app.inject({ method: 'GET', url: '/readyz' });
  const unready = await until('/readyz 503', async () => {
    const r = await ready();
    return r.statusCode === 503 ? (r.json() as { error: string }) : undefined;
  });
  t.match(unready.error, new RegExp(`subscription "${n.subs[0]}" does not exist`), 'says which subscription is missing');

  await pubsub.topic(n.topics[0]!).createSubscription(n.subs[0]!, { ackDeadlineSeconds: 10 });
  await until('/readyz 200 once the subscription exists', async () => (await ready()).statusCode === 200);
  await publish(n.topics[0]!, { id: 'after-create', type: 'echo' });
  const ok = await until('the message pulled by the same worker', () =>
    notes.events.find((e) => e.subject === 'after-create' && e.type === 'executor.task.succeeded'),
  );
  t.equal(ok.data.state, 'succeeded');
});
