// npm run bench, pull mode (`--only=pull`): messages per second through
// `executor pull` with the echo job, against the gcloud Pub/Sub emulator
// (started here on a free port), and the peak number of jobs running at once.
// The backlog is published first, then the worker drains it: the figure is
// the drain rate. The worker runs in this process so its own counters give
// the peak; the emulator (Java) is part of the cost.
import { PubSub } from '@google-cloud/pubsub';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { type Notifier, systemClock } from '../src/interfaces.ts';
import { echoJob } from '../src/jobs/echo-job.ts';
import { createRegistry } from '../src/jobs/registry.ts';
import { createMemoryLedger } from '../src/ledger/memory-ledger.ts';
import { startPull } from '../src/pull/index.ts';
import { startGcloudEmulator } from '../test/helpers/gcloud-emulator.ts';
import type { Row } from './lib/common.ts';

const MAX_CONCURRENCY = 100;

export async function pullFigure(s: { quick: boolean }, raw: Record<string, unknown>): Promise<Row> {
  const MESSAGES = s.quick ? 2_000 : 5_000;
  const project = 'bench-project';
  const emulator = await startGcloudEmulator('pubsub', { project });
  process.env.PUBSUB_EMULATOR_HOST = emulator.host;
  const pubsub = new PubSub({ projectId: project });
  try {
    const [topic] = await pubsub.createTopic('bench-incoming');
    await topic.createSubscription('bench-incoming-pull', { ackDeadlineSeconds: 60 });
    const publisher = pubsub.topic('bench-incoming', { batching: { maxMessages: 500, maxMilliseconds: 20 } });
    const body = { type: 'echo', data: { hello: 'world', n: 42 } };
    await Promise.all(Array.from({ length: MESSAGES }, (_, i) => publisher.publishMessage({ json: { ...body, id: `pull-${i}` } })));
    await publisher.flush();

    const config = loadConfig(
      {
        GOOGLE_CLOUD_PROJECT: project,
        CHAIN: 'bench-incoming:3#bench-incoming-pull',
        AUTH: 'none',
        ALLOW_UNAUTHENTICATED: '1',
        NOTIFY_QUEUE: '',
        NOTIFY_ON: 'failed',
        MAX_CONCURRENCY: String(MAX_CONCURRENCY),
        LOG_LEVEL: 'silent',
      },
      'pull',
    );
    const silent: Notifier = { send: async () => {}, close: async () => {} };
    const ledger = createMemoryLedger({ maxRecords: 10_000_000 });
    const t0 = process.hrtime.bigint();
    const running = await startPull(
      config,
      { ledger, notifier: silent, registry: createRegistry([echoJob()]), clock: systemClock, logger: pino({ level: 'silent' }), close: () => ledger.close() },
      { port: 0, host: '127.0.0.1', pubsub },
    );
    const deadline = Date.now() + 300_000;
    while (running.worker.stats().acked < MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const stats = running.worker.stats();
    await running.stop();
    const rate = stats.acked / secs;
    raw.pull = { messages: MESSAGES, maxConcurrency: MAX_CONCURRENCY, secs, rate, ...stats };
    return {
      figure: `executor pull: echo messages drained per second (${MESSAGES.toLocaleString('en-US')} backlog on the Pub/Sub emulator, MAX_CONCURRENCY=${MAX_CONCURRENCY}), peak jobs at once`,
      executor: `${rate.toFixed(0)} msg/s, peak ${stats.peak}`,
      baseline: '',
      value: rate,
      target: `peak ≤ ${MAX_CONCURRENCY}, all acked`,
      met: stats.peak <= MAX_CONCURRENCY && stats.acked === MESSAGES,
      note: `acked ${stats.acked}, nacked ${stats.nacked}`,
    };
  } finally {
    await pubsub.close();
    await emulator.stop();
  }
}
