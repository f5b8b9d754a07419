// Notifications to a Pub/Sub topic in CloudEvents binary mode: the message
// data is the event's `data` as JSON, the context attributes travel as ce-*
// attributes (CloudEvents Pub/Sub binding). Plus three plain attributes that
// subscriptions can filter on: `type` (succeeded|failed|forwarded),
// `lineage` and `queue`, e.g. filter `attributes.type = "failed"`.
import { PubSub, type Topic } from '@google-cloud/pubsub';
import type { CredentialsProbe } from '../auth/google-credentials.ts';
import { emulatorClientOptions } from '../auth/google-credentials.ts';
import type { Notifier } from '../interfaces.ts';
import type { CloudEvent } from '../schemas/index.ts';
import { eventKind } from './cloud-event.ts';

export interface PubSubNotifierOptions {
  /** A ready client; otherwise one is created (PUBSUB_EMULATOR_HOST is read by the client itself). */
  pubsub?: PubSub;
  projectId?: string;
  /** NOTIFY_TOPIC: used when the envelope names no notify.topic; short id or `projects/p/topics/t`. */
  defaultTopic?: string;
  /** Asked before the client is used (not with an emulator): no credentials = a clear error, not an unhandled rejection. */
  credentials?: CredentialsProbe;
}

/** The message a CloudEvent becomes (exported for tests and the /pubsub route's symmetry). */
export function toPubSubMessage(event: CloudEvent): { data: Buffer; attributes: Record<string, string> } {
  const attributes: Record<string, string> = {
    'ce-specversion': event.specversion,
    'ce-id': event.id,
    'ce-type': event.type,
    'ce-source': event.source,
    'ce-subject': event.subject,
    'ce-time': event.time,
    'content-type': event.datacontenttype,
    type: eventKind(event.type) ?? event.type,
    lineage: event.subject,
  };
  if (event.data?.queue) attributes.queue = event.data.queue;
  return { data: Buffer.from(JSON.stringify(event.data)), attributes };
}

export function createPubSubNotifier(opts: PubSubNotifierOptions = {}): Notifier {
  let client: PubSub | undefined = opts.pubsub;
  // Created on first use: a service that never notifies by topic opens nothing.
  const pubsub = () => (client ??= new PubSub({ ...(opts.projectId ? { projectId: opts.projectId } : {}), ...emulatorClientOptions('PUBSUB_EMULATOR_HOST') }));
  const topics = new Map<string, Topic>();
  const topicFor = (name: string) => {
    let t = topics.get(name);
    if (!t) {
      t = pubsub().topic(name);
      topics.set(name, t);
    }
    return t;
  };

  return {
    async send(event, target) {
      const name = target.topic ?? opts.defaultTopic;
      if (!name) throw new Error(`notification ${event.id}: no topic (the envelope has no notify.topic and NOTIFY_TOPIC is not set)`);
      // The client knows whether PUBSUB_EMULATOR_HOST points it at an emulator (no credentials needed).
      if (!(pubsub() as unknown as { isEmulator?: boolean }).isEmulator) await opts.credentials?.check();
      const { data, attributes } = toPubSubMessage(event);
      await topicFor(name).publishMessage({ data, attributes });
    },
    async close() {
      await Promise.allSettled([...topics.values()].map((t) => t.flush()));
      topics.clear();
      if (client) await client.close();
    },
  };
}
