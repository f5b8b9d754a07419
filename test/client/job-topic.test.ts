// Seed 000's submission path: task data to the bucket, one message per task
// (the envelope with its dataRef) to a Pub/Sub topic; the worker takes it by
// pull (`executor pull`) or by push (POST /pubsub). Pub/Sub is the gcloud
// emulator; the bucket is a local folder (GCS with nock: job-topic-gcs.test.ts).

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Message, PubSub } from '@google-cloud/pubsub';
import pino from 'pino';
import t from 'tap';
import { createLocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { Executor, Job } from '../../src/client/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createDeps, startServer } from '../../src/server.ts';
import { RecordingQueue } from '../helpers/doubles.ts';
import { startGcloudEmulator } from '../helpers/gcloud-emulator.ts';
import { chainEnv, createChain, names, PROJECT, pullEnv, startInProcess, until } from '../pull/pull-stack.ts';

const emulator = await startGcloudEmulator('pubsub', { project: PROJECT });
t.teardown(() => emulator.stop());
process.env.PUBSUB_EMULATOR_HOST = emulator.host;
const pubsub = new PubSub({ projectId: PROJECT });
t.teardown(() => pubsub.close());

/** Messages published to a topic, seen through an extra subscription. */
async function spy(
  topic: string,
): Promise<{ messages: Array<{ envelope: Record<string, unknown>; attributes: Record<string, string> }>; close(): Promise<void> }> {
  const [sub] = await pubsub.topic(topic).createSubscription(`${topic}-spy`);
  const messages: Array<{ envelope: Record<string, unknown>; attributes: Record<string, string> }> = [];
  sub.on('message', (m: Message) => {
    messages.push({ envelope: JSON.parse(m.data.toString()), attributes: m.attributes });
    m.ack();
  });
  return { messages, close: () => sub.close() };
}

function threeTasks(id: string): Job {
  return new Job({ id, tasks: [0, 1, 2].map((i) => ({ type: 'echo', name: `part-${i}`, data: { part: i, text: 'small' } })) });
}

t.test('through a topic to executor pull: data uploaded to the blob folder, messages carry dataRef, the job succeeds', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'executor-topic-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const n = names(1);
  await createChain(pubsub, n);
  const seen = await spy(n.topics[0]!);
  t.teardown(() => seen.close());
  const pull = await startInProcess(pullEnv(n, chainEnv(n, [3]), { BLOB_DIR: dir }));
  t.teardown(() => pull.stop());
  const exe = new Executor({
    project: PROJECT,
    location: 'us-central1',
    serviceUrl: pull.url,
    taskQueue: new RecordingQueue(),
    topic: n.topics[0]!,
    pubsub,
    blobs: createLocalBlobStore({ dir }),
    business: 'acme',
  });
  t.teardown(() => exe.close());
  const job = threeTasks('via-topic');
  const result = await exe.execute(job);
  t.equal(result.error, undefined);
  t.same(job.states, ['Job Created', 'Task Data Uploading', 'Job Message Published']);
  await result.watch({ intervalMs: 100, timeoutMs: 60_000 });
  t.equal(job.currentState(), 'Succeeded');
  await until('the three published messages', () => seen.messages.length >= 3);
  for (const m of seen.messages) {
    t.match(m.envelope.dataRef, /^file:\/\//, 'the message says where the data is');
    t.equal(m.envelope.data, undefined, 'and does not carry it');
    t.same(m.envelope.labels, { business: 'acme' });
    t.equal(m.attributes.job, 'via-topic');
  }
  const out = await exe.output('via-topic-1');
  t.same(out, { data: { part: 1, text: 'small' }, args: {} }, 'the worker read the data from the folder');
  const left = await readdir(dir, { recursive: true }).catch(() => []);
  t.same(
    left.filter((f) => String(f).endsWith('.json')),
    [],
    'payloads are deleted once their task ended',
  );
});

t.test('through a topic to a push subscription (POST /pubsub): the job succeeds', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'executor-topic-push-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const n = names(1);
  const [topic] = await pubsub.createTopic(n.topics[0]!);
  const config = loadConfig(
    {
      GOOGLE_CLOUD_PROJECT: PROJECT,
      LOCATION: 'us-central1',
      CHAIN: `incoming:3#${n.subs[0]}`,
      AUTH: 'none',
      ALLOW_UNAUTHENTICATED: '1',
      NOTIFY_QUEUE: '',
      BLOB_DIR: dir,
      HOST: '127.0.0.1',
      PORT: '0',
    },
    'serve',
  );
  const deps = await createDeps(config, pino({ level: 'silent' }));
  const server = await startServer(config, deps, { port: 0, host: '127.0.0.1' });
  t.teardown(() => server.stop());
  await topic.createSubscription(n.subs[0]!, { pushConfig: { pushEndpoint: `${server.url}/pubsub` }, ackDeadlineSeconds: 10 });
  const exe = new Executor({
    project: PROJECT,
    location: 'us-central1',
    serviceUrl: server.url,
    taskQueue: new RecordingQueue(),
    topic: n.topics[0]!,
    pubsub,
    blobs: createLocalBlobStore({ dir }),
  });
  t.teardown(() => exe.close());
  const result = await exe.execute(threeTasks('via-push'));
  t.equal(result.error, undefined);
  const job = await result.watch({ intervalMs: 100, timeoutMs: 60_000 });
  t.equal(job.currentState(), 'Succeeded');
  t.same(await exe.output('via-push-2'), { data: { part: 2, text: 'small' }, args: {} });
});
