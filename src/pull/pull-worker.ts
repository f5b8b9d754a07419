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
import { MissingCredentials } from '../jobs/errors.ts';

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
  /** First pause before a failed subscription is checked again (doubles up to 30 s). Default 1 s. */
  recoverMs?: number;
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
   * Why the worker cannot pull right now (for /readyz), or undefined when
   * every subscription is healthy: a missing credential, a subscription that
   * does not exist, a permission denied. Each is checked again with backoff
   * until it clears; nothing needs a restart.
   */
  unready(): string | undefined;
  /**
   * Graceful stop: stop pulling, nack what waits for a slot, let running jobs
   * finish within graceMs, then abort the rest (their messages are nacked).
   */
  stop(graceMs: number): Promise<void>;
}

export function createPullWorker(opts: PullWorkerOptions): PullWorker {
  const tiers = opts.chain.filter((t) => t.subscription);
  if (tiers.length === 0) throw new Error('no CHAIN tier names a subscription (queue#subscription)');
  const subscriptions: Array<{ tier: Tier; sub: Subscription; problem?: string; failures: number; timer?: NodeJS.Timeout }> = [];
  const recoverMs = opts.recoverMs ?? 1000;
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

  /** A subscription failed (stream error or check): say so once per distinct problem, and check again later. */
  function failed(entry: (typeof subscriptions)[number], err: unknown): void {
    const problem = describe(entry.tier.subscription!, err);
    if (problem !== entry.problem) opts.logger.error({ subscription: entry.tier.subscription }, problem);
    entry.problem = problem;
    if (stopping || entry.timer) return;
    const delay = Math.min(30_000, recoverMs * 2 ** Math.min(entry.failures++, 15));
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      void check(entry);
    }, delay);
    entry.timer.unref();
  }

  /**
   * Ask Pub/Sub whether this process may consume the subscription; when it
   * may, the problem is cleared and the stream reopened if it closed. The
   * backoff only resets when a message arrives: a check that passes while the
   * stream keeps failing (IAM answers may fail open) slows down too.
   */
  async function check(entry: (typeof subscriptions)[number]): Promise<void> {
    if (stopping) return;
    try {
      await mayConsume(entry.sub);
    } catch (err) {
      failed(entry, err);
      return;
    }
    if (stopping) return;
    if (!entry.sub.isOpen) entry.sub.open();
    if (entry.problem) opts.logger.info({ subscription: entry.tier.subscription }, 'subscription reachable again; pulling');
    entry.problem = undefined;
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
        const entry: (typeof subscriptions)[number] = { tier, sub, failures: 0 };
        sub.on('message', (message: Message) => {
          entry.problem = undefined;
          entry.failures = 0;
          void handle(tier, message);
        });
        sub.on('error', (err: Error) => failed(entry, err));
        subscriptions.push(entry);
        opts.logger.info({ subscription: tier.subscription, queue: tier.queue, maxMessages: opts.maxMessages }, 'pulling');
        // A missing credential or subscription shows in /readyz at once, not only when the stream fails.
        void check(entry);
      }
    },

    stats: () => ({ running, waiting: waiting.length, peak, acked, nacked }),

    unready() {
      const sick = subscriptions.find((e) => e.problem);
      return sick?.problem;
    },

    async stop(graceMs) {
      if (stopping) return;
      stopping = true;
      for (const e of subscriptions) clearTimeout(e.timer);
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

/**
 * Resolves when the caller may consume the subscription. testIamPermissions
 * needs no permission of its own, unlike subscriptions.get, which
 * roles/pubsub.subscriber does not grant; a subscription that does not exist
 * answers an empty set. The Pub/Sub emulator has no IAM (UNIMPLEMENTED): there
 * the subscription is read instead.
 */
async function mayConsume(sub: Subscription): Promise<void> {
  const consume = 'pubsub.subscriptions.consume';
  let granted: boolean | undefined;
  try {
    granted = (await sub.iam.testPermissions([consume]))[0][consume];
  } catch (err) {
    if ((err as { code?: unknown }).code !== 12) throw err;
    await sub.getMetadata();
    return;
  }
  if (!granted) throw Object.assign(new Error(`no ${consume}`), { code: 'NoConsume' });
}

/** One line a platform engineer can act on, for the errors a subscription meets before it pulls anything. */
function describe(subscription: string, err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = String(e?.message ?? err);
  if (/default credentials/i.test(message)) return new MissingCredentials('Pub/Sub', 'PUBSUB_EMULATOR_HOST').message;
  if (e?.code === 5) return `Pub/Sub subscription "${subscription}" does not exist (create it: README "Pull mode")`;
  if (e?.code === 'NoConsume') {
    return `Pub/Sub subscription "${subscription}" does not exist, or this service account may not consume it (it needs roles/pubsub.subscriber on it)`;
  }
  if (e?.code === 7) return `Pub/Sub: permission denied on subscription "${subscription}" (the service account needs roles/pubsub.subscriber on it)`;
  return `Pub/Sub subscription "${subscription}": ${message.split('\n')[0]}`;
}
