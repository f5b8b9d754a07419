// The forwarder of pull mode: a TaskQueue whose "queues" are Pub/Sub topics.
// A pull tier's topic is named like the tier's queue in CHAIN, so the shared
// forwarding code (delivery/effects.ts) creates "a task in the next queue" by
// publishing the envelope to the next tier's topic; publish resolves once the
// server stored the message, which is what lets the caller ack after it.
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { CreatedTask, CreateTaskInput, QueueInfo, TaskQueue } from '../interfaces.ts';

/** The push target written on pull tiers: forwarding reads it as "publish here". */
export function topicTarget(topic: string): string {
  return `pubsub://${topic}`;
}

export function createTopicQueue(pubsub: PubSub): TaskQueue {
  const topics = new Map<string, Topic>();
  const topicFor = (name: string) => {
    let t = topics.get(name);
    if (!t) {
      // Publish each message at once: forwarding waits for it before acking.
      t = pubsub.topic(name, { batching: { maxMessages: 1 } });
      topics.set(name, t);
    }
    return t;
  };
  return {
    async createTask(input: CreateTaskInput): Promise<CreatedTask> {
      const attributes: Record<string, string> = { 'content-type': 'application/json' };
      if (input.taskName) attributes.task = input.taskName;
      const id = await topicFor(input.queue).publishMessage({ data: input.body, attributes });
      return { taskName: input.taskName ?? id, name: `${topicFor(input.queue).name}/messages/${id}`, alreadyExisted: false };
    },
    /** A published message cannot be taken back; the ledger's cancelled state makes its delivery a no-op. */
    async deleteTask(): Promise<boolean> {
      return false;
    },
    async getQueue(queue: string): Promise<QueueInfo | undefined> {
      const [exists] = await topicFor(queue).exists();
      return exists ? { name: topicFor(queue).name, maxAttempts: -1, maxRetryDurationSeconds: 0, state: 'RUNNING' } : undefined;
    },
    async close(): Promise<void> {
      await Promise.allSettled([...topics.values()].map((t) => t.flush()));
      topics.clear();
    },
  };
}
