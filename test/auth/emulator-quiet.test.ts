// Pointed at their emulators (FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST),
// the Firestore ledger and the Pub/Sub notifier never ask the GCE metadata
// server anything. They used to: the Google clients looked up a universe
// domain through google-auth-library, which probed the metadata server and,
// off Google Cloud, printed a MetadataLookupWarning in every `executor dev`,
// chaos worker and test. The metadata server here is a local one that counts
// what it is asked (GCE_METADATA_HOST), so the check does not depend on how
// this machine's network fails.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { emulatorClientOptions } from '../../src/auth/google-credentials.ts';
import { createFirestoreLedger } from '../../src/ledger/firestore-ledger.ts';
import { buildCloudEvent } from '../../src/notifier/cloud-event.ts';
import { createPubSubNotifier } from '../../src/notifier/pubsub-notifier.ts';
import { startGcloudEmulator } from '../helpers/gcloud-emulator.ts';

const PROJECT = 'quiet-project';
const asked: string[] = [];
const metadata = createServer((req, res) => {
  asked.push(req.url ?? '');
  res.writeHead(404).end();
});
await new Promise<void>((r) => metadata.listen(0, '127.0.0.1', r));
process.env.GCE_METADATA_HOST = `127.0.0.1:${(metadata.address() as AddressInfo).port}`;
const warnings: string[] = [];
process.on('warning', (w) => warnings.push(w.name));

const [firestore, pubsub] = await Promise.all([startGcloudEmulator('firestore', { project: PROJECT }), startGcloudEmulator('pubsub', { project: PROJECT })]);
process.env.FIRESTORE_EMULATOR_HOST = firestore.host;
process.env.PUBSUB_EMULATOR_HOST = pubsub.host;
t.teardown(async () => {
  await Promise.all([firestore.stop(), pubsub.stop()]);
  metadata.close();
});

t.test('emulatorClientOptions is empty without the emulator variable', async (t) => {
  t.same(emulatorClientOptions('FIRESTORE_EMULATOR_HOST', {}), {});
  t.same(emulatorClientOptions('PUBSUB_EMULATOR_HOST', {}), {});
  t.same(emulatorClientOptions('PUBSUB_EMULATOR_HOST', { PUBSUB_EMULATOR_HOST: 'h:1' }), { universeDomain: 'googleapis.com', emulatorMode: true });
});

t.test('the Firestore ledger and the Pub/Sub notifier work without asking the metadata server', async (t) => {
  const ledger = createFirestoreLedger({ projectId: PROJECT, collectionPrefix: 'quiet' });
  t.teardown(() => ledger.close());
  t.equal(await ledger.get('nobody'), undefined, 'the ledger reads from the emulator');

  const topic = await fetch(`http://${pubsub.host}/v1/projects/${PROJECT}/topics/quiet`, { method: 'PUT' });
  t.ok(topic.ok, 'topic created over REST (no client of its own)');
  const base = `http://${pubsub.host}/v1/projects/${PROJECT}/subscriptions/quiet-read`;
  const sub = await fetch(base, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic: `projects/${PROJECT}/topics/quiet` }),
  });
  t.ok(sub.ok, 'subscription created over REST');
  const notifier = createPubSubNotifier({ projectId: PROJECT });
  t.teardown(() => notifier.close());
  const event = buildCloudEvent({
    kind: 'succeeded',
    source: '//executor/test',
    time: new Date(),
    data: {
      id: 'q-1',
      type: 'echo',
      queue: 'incoming',
      tier: 0,
      attempt: 1,
      maxAttempts: 1,
      state: 'succeeded',
      result: {},
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
    },
  });
  await notifier.send(event, { topic: 'quiet' });
  const pulled = (await (
    await fetch(`${base}:pull`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ maxMessages: 10 }) })
  ).json()) as { receivedMessages?: Array<{ message: { attributes: Record<string, string> } }> };
  t.equal(pulled.receivedMessages?.[0]?.message.attributes['ce-id'], event.id, 'the event reached the emulator');

  await new Promise((r) => setTimeout(r, 200)); // a warning is emitted on the next tick
  t.same(asked, [], 'the metadata server was never asked');
  t.notOk(warnings.includes('MetadataLookupWarning'), 'no MetadataLookupWarning');
});
