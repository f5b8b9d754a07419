// Pull-mode test harness: topics and subscriptions on the Pub/Sub emulator,
// an in-process `executor pull` (or a child process), and a collector of the
// notifications published to NOTIFY_TOPIC.
import type { Message, PubSub } from '@google-cloud/pubsub';
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import type { CloudEvent, JobRegistry } from '../../src/interfaces.ts';
import { type RunningPull, startPull } from '../../src/pull/index.ts';
import { createDeps } from '../../src/server.ts';

export const PROJECT = 'pull-test';

let n = 0;
/** Fresh names per test: tiers `<p>-t0..`, subscriptions `<p>-s0..`, notify topic `<p>-notify`. */
export function names(tiers: number): { prefix: string; topics: string[]; subs: string[]; notify: string } {
  const prefix = `p${process.pid}-${++n}`;
  return {
    prefix,
    topics: Array.from({ length: tiers }, (_, i) => `${prefix}-t${i}`),
    subs: Array.from({ length: tiers }, (_, i) => `${prefix}-s${i}`),
    notify: `${prefix}-notify`,
  };
}

/** Create the topics and subscriptions of a chain, and the notify topic with a subscription we read. */
export async function createChain(pubsub: PubSub, n: ReturnType<typeof names>): Promise<void> {
  for (let i = 0; i < n.topics.length; i++) {
    const [topic] = await pubsub.createTopic(n.topics[i]!);
    await topic.createSubscription(n.subs[i]!, { ackDeadlineSeconds: 10 });
  }
  const [notify] = await pubsub.createTopic(n.notify);
  await notify.createSubscription(`${n.notify}-read`);
}

export function chainEnv(n: ReturnType<typeof names>, attempts: number[]): string {
  return n.topics.map((t, i) => `${t}:${attempts[i]}#${n.subs[i]}`).join(',');
}

/** Every notification published to the notify topic, as CloudEvents rebuilt from the binary mode attributes. */
export function collectNotifications(pubsub: PubSub, n: ReturnType<typeof names>): { events: CloudEvent[]; close(): Promise<void> } {
  const events: CloudEvent[] = [];
  const sub = pubsub.subscription(`${n.notify}-read`);
  sub.on('message', (m: Message) => {
    events.push({
      specversion: '1.0',
      id: m.attributes['ce-id']!,
      type: m.attributes['ce-type']!,
      source: m.attributes['ce-source']!,
      subject: m.attributes['ce-subject']!,
      time: m.attributes['ce-time']!,
      datacontenttype: 'application/json',
      data: JSON.parse(m.data.toString()),
    });
    m.ack();
  });
  sub.on('error', () => {});
  return { events, close: () => sub.close() };
}

export function pullEnv(n: ReturnType<typeof names>, chain: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    GOOGLE_CLOUD_PROJECT: PROJECT,
    CHAIN: chain,
    AUTH: 'none',
    ALLOW_UNAUTHENTICATED: '1',
    PORT: '0',
    HOST: '127.0.0.1',
    NOTIFY_QUEUE: '',
    NOTIFY_TOPIC: `projects/${PROJECT}/topics/${n.notify}`,
    NOTIFY_ON: 'all',
    LOG_LEVEL: 'silent',
    ...extra,
  };
}

export async function startInProcess(env: Record<string, string>, opts: { registry?: JobRegistry } = {}): Promise<RunningPull> {
  const config = loadConfig(env, 'pull');
  const logger = pino({ level: 'silent' });
  const deps = await createDeps(config, logger);
  if (opts.registry) deps.registry = opts.registry;
  return startPull(config, deps, {});
}

/** Pull tests poll with the shared helper. */
export { until } from '../helpers/until.ts';
