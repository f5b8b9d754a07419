// `executor pull` (DESIGN §8, seed 004): the delivery decision fed by Pub/Sub
// streaming pull instead of pushes. One subscription per CHAIN tier that names
// one (`queue#subscription`). A gate of MAX_CONCURRENCY slots across every
// subscription bounds the jobs running at once; each subscription's flow
// control (PULL_MAX_MESSAGES) bounds what is held in memory, and the client's
// lease management extends the ack deadline of every held message, running or
// waiting for a slot. The outcome picks ack or nack: ack when the lineage
// ended or moved on (forwarding published the envelope to the next tier's
// topic before this point), nack when Pub/Sub should deliver it again.
import { Duration, type Message, type PubSub, type Subscription } from '@google-cloud/pubsub';
import type { Logger } from 'pino';
import type { Delivery, OutcomeKind } from '../delivery/deliver.ts';
import type { PushHeaders } from '../delivery/push-headers.ts';
import type { Tier } from '../interfaces.ts';

/** Outcomes after which the message is done with: the ledger holds the rest. */
const ACK: ReadonlySet<OutcomeKind> = new Set(['succeeded', 'failed', 'forwarded', 'cancelled', 'duplicate']);

export interface PullWorkerOptions {
  pubsub: PubSub;
  delivery: Delivery;
  /** The CHAIN; tiers without a subscription are not pulled. */
  chain: Tier[];
  maxConcurrency: number;
  /** Flow control per subscription: messages held at once. */
  maxMessages: number;
  jobTimeoutMs: number;
  logger: Logger;
}

export interface PullStats {
  running: number;
  /** Held messages waiting for a slot. */
  waiting: number;
  /** Most jobs seen running at once since start. */
  peak: number;
  acked: number;
  nacked: number;
}

export interface PullWorker {
  start(): void;
  stats(): PullStats;
  /**
   * Graceful stop: stop pulling, nack what waits for a slot, let running jobs
   * finish within graceMs, then abort the rest (their messages are nacked).
   */
  stop(graceMs: number): Promise<void>;
}

export function createPullWorker(opts: PullWorkerOptions): PullWorker {
  const tiers = opts.chain.filter((t) => t.subscription);
  if (tiers.length === 0) throw new Error('no CHAIN tier names a subscription (queue#subscription)');
  const subscriptions: Array<{ tier: Tier; sub: Subscription }> = [];
  const waiting: Array<{ resume: (go: boolean) => void }> = [];
  let running = 0;
  let peak = 0;
  let acked = 0;
  let nacked = 0;
  let stopping = false;
  const idle: Array<() => void> = [];

  /** A slot, or false when stopping began while waiting. */
  function acquire(): Promise<boolean> {
    if (stopping) return Promise.resolve(false);
    if (running < opts.maxConcurrency) {
      running++;
      peak = Math.max(peak, running);
      return Promise.resolve(true);
    }
    return new Promise((resolve) => waiting.push({ resume: resolve }));
  }

  function release(): void {
    const next = stopping ? undefined : waiting.shift();
    if (next) {
      // The slot passes straight to the next message: running stays the same.
      next.resume(true);
      return;
    }
    running--;
    if (running === 0) for (const fn of idle.splice(0)) fn();
  }

  function settle(message: Message, ack: boolean): void {
    if (ack) {
      message.ack();
      acked++;
    } else {
      message.nack();
      nacked++;
    }
  }

  async function handle(tier: Tier, message: Message): Promise<void> {
    if (!(await acquire())) {
      settle(message, false);
      return;
    }
    try {
      const attempt = message.deliveryAttempt > 0 ? message.deliveryAttempt : undefined;
      const push: PushHeaders = {
        problems: [],
        queueName: tier.queue,
        taskName: `pubsub-${message.id}`,
        // deliveryAttempt exists when the subscription has a dead-letter policy; the ledger counts otherwise.
        ...(attempt ? { retryCount: attempt - 1 } : {}),
      };
      const outcome = await opts.delivery.deliver({ body: message.data, push, tierHint: tier.index, logFields: { messageId: message.id } });
      settle(message, ACK.has(outcome.outcome));
    } catch (err) {
      // A ledger outage or a bug: nothing recorded an end, so Pub/Sub delivers it again.
      opts.logger.error({ err: { message: (err as Error).message }, messageId: message.id, queue: tier.queue }, 'pulled delivery threw; nacked');
      settle(message, false);
    } finally {
      release();
    }
  }

  function waitIdle(ms: number): Promise<boolean> {
    if (running === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  return {
    start() {
      // Leases are extended for as long as a job may take, plus the time it may wait for a slot.
      const maxExtensionMinutes = Math.ceil(opts.jobTimeoutMs / 60_000) * 2 + 10;
      for (const tier of tiers) {
        const sub = opts.pubsub.subscription(tier.subscription!, {
          flowControl: { maxMessages: opts.maxMessages, allowExcessMessages: false },
          maxExtensionTime: Duration.from({ minutes: maxExtensionMinutes }),
          // close() waits for held messages to be acked or nacked (stop() settles every one).
          closeOptions: { behavior: 'WAIT', timeout: Duration.from({ minutes: maxExtensionMinutes }) },
        });
        sub.on('message', (message: Message) => void handle(tier, message));
        sub.on('error', (err: Error) => opts.logger.error({ err: { message: err.message }, subscription: tier.subscription }, 'subscription error'));
        subscriptions.push({ tier, sub });
        opts.logger.info({ subscription: tier.subscription, queue: tier.queue, maxMessages: opts.maxMessages }, 'pulling');
      }
    },

    stats: () => ({ running, waiting: waiting.length, peak, acked, nacked }),

    async stop(graceMs) {
      if (stopping) return;
      stopping = true;
      for (const w of waiting.splice(0)) w.resume(false);
      const closing = Promise.all(subscriptions.map(({ sub }) => sub.close().catch(() => {})));
      if (!(await waitIdle(graceMs))) {
        opts.logger.warn({ running }, 'shutdown grace over: aborting running jobs (their messages are nacked)');
        opts.delivery.shutdown();
        await waitIdle(10_000);
      }
      await closing;
      for (const { sub } of subscriptions) sub.removeAllListeners();
      opts.logger.info({ acked, nacked, peak }, 'pull stopped');
    },
  };
}
