// The Pub/Sub notifier against the gcloud Pub/Sub emulator: binary-mode
// CloudEvents, and attributes a subscription filter can select on.

import { type Message, PubSub, type Subscription } from '@google-cloud/pubsub';
import t from 'tap';
import { buildCloudEvent } from '../../src/notifier/cloud-event.ts';
import { createPubSubNotifier, toPubSubMessage } from '../../src/notifier/pubsub-notifier.ts';
import { EVENT_TYPES, type EventKind } from '../../src/schemas/index.ts';
import { startGcloudEmulator } from '../helpers/gcloud-emulator.ts';

const PROJECT = 'test-project';
const emu = await startGcloudEmulator('pubsub', { project: PROJECT });
process.env.PUBSUB_EMULATOR_HOST = emu.host;
const admin = new PubSub({ projectId: PROJECT });
t.teardown(async () => {
  await admin.close();
  await emu.stop();
  delete process.env.PUBSUB_EMULATOR_HOST;
});

const event = (lineage: string, kind: EventKind) =>
  buildCloudEvent({
    kind,
    source: '//executor/test',
    time: new Date('2024-05-01T10:00:00Z'),
    data: {
      id: lineage,
      type: 'echo',
      queue: 'incoming',
      tier: 0,
      attempt: 2,
      maxAttempts: 2,
      state: kind,
      ...(kind === 'failed' ? { error: { code: 'Boom', message: 'boom', permanent: true } } : { result: { ok: 1 } }),
      startedAt: '2024-05-01T09:59:00.000Z',
      finishedAt: '2024-05-01T10:00:00.000Z',
    },
  });

/** Collect `count` messages from a subscription (acking each), or fail after `ms`. */
function collect(sub: Subscription, count: number, ms = 15000): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const got: Message[] = [];
    const timer = setTimeout(() => {
      sub.removeAllListeners('message');
      reject(Object.assign(new Error(`only ${got.length} of ${count} messages on ${sub.name}`), { got }));
    }, ms);
    sub.on('message', (m: Message) => {
      m.ack();
      got.push(m);
      if (got.length === count) {
        clearTimeout(timer);
        sub.removeAllListeners('message');
        resolve(got);
      }
    });
    sub.on('error', reject);
  });
}

// Subscription filters are applied by Pub/Sub itself; the gcloud emulator
// only evaluates them from Cloud SDK 555 on (release notes, 2026-02-03), and
// older ones store the filter but deliver everything. So this test checks that
// the filter is accepted and that the `type` attribute it selects on carries
// exactly the short kind; where the emulator filters, it also checks that the
// filtered subscription received only the failure.
t.test('events go out in binary mode with the attributes a subscription filter selects on', async (t) => {
  const [topic] = await admin.createTopic('notifications');
  const [all] = await topic.createSubscription('all');
  const [failedOnly] = await topic.createSubscription('failed-only', { filter: 'attributes.type = "failed"' });
  t.teardown(async () => {
    await all.close();
    await failedOnly.close();
  });
  const [meta] = await failedOnly.getMetadata();
  t.equal(meta.filter, 'attributes.type = "failed"', 'the filter was accepted');

  const notifier = createPubSubNotifier({ projectId: PROJECT, defaultTopic: 'notifications' });
  const ok = event('lin-ok', 'succeeded');
  const bad = event('lin-bad', 'failed');
  await notifier.send(ok, {});
  await notifier.send(bad, { topic: `projects/${PROJECT}/topics/notifications` });
  await notifier.close();

  const received = await collect(all, 2);
  const byId = new Map(received.map((m) => [m.attributes['ce-id'], m]));
  const s = byId.get('lin-ok/succeeded');
  t.ok(s, 'the succeeded event arrived');
  t.same(s!.attributes, {
    'ce-specversion': '1.0',
    'ce-id': 'lin-ok/succeeded',
    'ce-type': EVENT_TYPES.succeeded,
    'ce-source': '//executor/test',
    'ce-subject': 'lin-ok',
    'ce-time': '2024-05-01T10:00:00.000Z',
    'content-type': 'application/json',
    type: 'succeeded',
    lineage: 'lin-ok',
    queue: 'incoming',
  });
  t.same(JSON.parse(s!.data.toString()), ok.data, 'the body is the event data');
  const f = byId.get('lin-bad/failed');
  t.ok(f, 'the failed event arrived');
  t.equal(f!.attributes.type, 'failed', 'the filter attribute matches only the failure');
  t.equal(f!.attributes['ce-type'], EVENT_TYPES.failed);
  t.same(JSON.parse(f!.data.toString()), bad.data);

  const filtered = await collect(failedOnly, 2, 2000).catch((err: { got?: Message[] }) => err.got ?? []);
  const ids = filtered.map((m) => m.attributes['ce-id']);
  t.ok(ids.includes('lin-bad/failed'), 'the filtered subscription got the failure');
  if (ids.length === 1) t.same(ids, ['lin-bad/failed'], 'and nothing else (this emulator applies filters)');
});

t.test('sending without a topic fails with a clear error', async (t) => {
  const notifier = createPubSubNotifier({ projectId: PROJECT });
  await t.rejects(notifier.send(event('x', 'failed'), {}), /no topic/);
  await notifier.close();
});

t.test('sending to a missing topic fails, so the caller can dead-letter it', async (t) => {
  const notifier = createPubSubNotifier({ projectId: PROJECT, defaultTopic: 'does-not-exist' });
  await t.rejects(notifier.send(event('x', 'failed'), {}));
  await notifier.close();
});

t.test('toPubSubMessage never puts the result in attributes', async (t) => {
  const m = toPubSubMessage(event('lin', 'succeeded'));
  t.notMatch(JSON.stringify(m.attributes), /"ok"/);
  t.same(JSON.parse(m.data.toString()).result, { ok: 1 });
});
