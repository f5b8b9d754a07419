// Seed 000's submission path with a GCS bucket answered by nock: every task's
// data is uploaded before its message goes to the topic (Pub/Sub emulator).
// nock 15 intercepts sockets, which breaks gRPC to the emulator, so it is
// active only around the uploads.

import { createHash } from 'node:crypto';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { CRC32C, Storage } from '@google-cloud/storage';
import { PassThroughClient } from 'google-auth-library';
import nock from 'nock';
import t from 'tap';
import { createGcsBlobStore } from '../../src/blobs/gcs-blob-store.ts';
import { Executor, Job } from '../../src/client/index.ts';
import type { BlobStore } from '../../src/interfaces.ts';
import { RecordingQueue } from '../helpers/doubles.ts';
import { startGcloudEmulator } from '../helpers/gcloud-emulator.ts';
import { names, PROJECT, until } from '../pull/pull-stack.ts';

nock.restore();
const emulator = await startGcloudEmulator('pubsub', { project: PROJECT });
t.teardown(() => emulator.stop());
process.env.PUBSUB_EMULATOR_HOST = emulator.host;
const pubsub = new PubSub({ projectId: PROJECT });
t.teardown(() => pubsub.close());

/** GCS through nock, switched on only while puts run (they run in parallel). */
function withNock(store: BlobStore): BlobStore {
  let active = 0;
  return {
    ...store,
    async put(key, bytes, contentType) {
      if (active++ === 0) nock.activate();
      try {
        return await store.put(key, bytes, contentType);
      } finally {
        if (--active === 0) nock.restore();
      }
    },
  };
}

t.test('through a topic with a GCS bucket: every task data is uploaded before its message is published', async (t) => {
  const BUCKET = 'jobs-bucket';
  nock.disableNetConnect();
  t.teardown(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });
  const uploads: string[] = [];
  nock('https://storage.googleapis.com')
    .post(`/upload/storage/v1/b/${BUCKET}/o`)
    .query((q) => {
      uploads.push(String(q.name));
      return q.uploadType === 'multipart' && q.ifGenerationMatch === '0';
    })
    .times(3)
    .reply(200, (req: unknown) => {
      // nock 15 hands the fetch Request; the object name is in its query.
      const name = new URL((req as { url: string }).url).searchParams.get('name')!;
      const part = Number(/-(\d+)\.json$/.exec(name)![1]);
      const bytes = Buffer.from(JSON.stringify({ part }));
      const crc = new CRC32C();
      crc.update(bytes);
      return {
        kind: 'storage#object',
        name,
        bucket: BUCKET,
        generation: '1',
        metageneration: '1',
        size: String(bytes.length),
        md5Hash: createHash('md5').update(bytes).digest('base64'),
        crc32c: crc.toString(),
      };
    });
  const n = names(1);
  await pubsub.createTopic(n.topics[0]!);
  const [sub] = await pubsub.topic(n.topics[0]!).createSubscription(`${n.topics[0]}-spy`);
  const seen = { messages: [] as Array<{ envelope: Record<string, unknown> }>, close: () => sub.close() };
  sub.on('message', (m: Message) => {
    seen.messages.push({ envelope: JSON.parse(m.data.toString()) });
    m.ack();
  });
  t.teardown(() => seen.close());
  const storage = new Storage({ projectId: 'p', authClient: new PassThroughClient() as never, retryOptions: { maxRetries: 0 } });
  const exe = new Executor({
    project: PROJECT,
    location: 'us-central1',
    serviceUrl: 'http://127.0.0.1:9',
    taskQueue: new RecordingQueue(),
    topic: `projects/${PROJECT}/topics/${n.topics[0]}`,
    pubsub,
    blobs: withNock(createGcsBlobStore({ bucket: BUCKET, storage })),
  });
  t.teardown(() => exe.close());
  const job = new Job({ id: 'via-gcs', tasks: [0, 1, 2].map((i) => ({ type: 'echo', data: { part: i } })) });
  const result = await exe.execute(job);
  t.equal(result.error, undefined, String(result.error));
  t.ok(nock.isDone(), 'three uploads');
  t.same(uploads.sort(), ['payloads/payloads/via-gcs-0.json', 'payloads/payloads/via-gcs-1.json', 'payloads/payloads/via-gcs-2.json']);
  await until('the three messages', () => seen.messages.length >= 3);
  t.same(
    seen.messages.map((m) => m.envelope.dataRef).sort(),
    [0, 1, 2].map((i) => `gs://${BUCKET}/payloads/payloads/via-gcs-${i}.json`),
  );
  t.ok(seen.messages.every((m) => m.envelope.data === undefined));
});
