// POST /pubsub: a Pub/Sub push. The message data is a task envelope; it goes
// through the same delivery decision as a Cloud Tasks push. The attempt comes
// from deliveryAttempt (present with a dead-letter policy) and the ledger; the
// tier from the subscription named in CHAIN (`queue#subscription`).
import type { FastifyInstance } from 'fastify';
import type { Delivery } from '../delivery/deliver.ts';
import type { Tier } from '../interfaces.ts';
import type { PushHeaders } from '../delivery/push-headers.ts';
import { traceField } from '../logger.ts';
import { sendOutcome, TASK_BODY_LIMIT } from './tasks.ts';
import type { Metrics } from './metrics.ts';

interface PushBody {
  message?: { data?: unknown; attributes?: Record<string, string>; messageId?: unknown; message_id?: unknown };
  subscription?: unknown;
  deliveryAttempt?: unknown;
}

export async function pubsubRoutes(app: FastifyInstance, opts: { delivery: Delivery; project: string; metrics: Metrics; chain: Tier[] }) {
  app.post<{ Body: PushBody }>('/pubsub', { bodyLimit: TASK_BODY_LIMIT * 2 }, async (req, reply) => {
    const b = (req.body && typeof req.body === 'object' ? req.body : {}) as PushBody;
    const sub = typeof b.subscription === 'string' ? b.subscription.replace(/^projects\/[^/]+\/subscriptions\//, '') : undefined;
    const tierIndex = sub ? opts.chain.findIndex((t) => t.subscription === sub) : -1;
    const rawId = b.message?.messageId ?? b.message?.message_id;
    const messageId = typeof rawId === 'string' && /^[A-Za-z0-9_-]{1,400}$/.test(rawId) ? rawId : undefined;
    const attempt = typeof b.deliveryAttempt === 'number' && Number.isInteger(b.deliveryAttempt) && b.deliveryAttempt > 0 ? b.deliveryAttempt : undefined;
    const push: PushHeaders = {
      problems: [],
      ...(tierIndex >= 0 ? { queueName: opts.chain[tierIndex]!.queue } : {}),
      ...(messageId ? { taskName: `pubsub-${messageId}` } : {}),
      ...(attempt ? { retryCount: attempt - 1 } : {}),
    };
    if (sub && tierIndex < 0) push.problems.push(`subscription "${sub}" is not in CHAIN; tier 0 assumed`);
    const data = b.message?.data;
    const body = typeof data === 'string' ? Buffer.from(data, 'base64') : undefined;
    const outcome = await opts.delivery.deliver({
      body,
      push,
      ...(tierIndex >= 0 ? { tierHint: tierIndex } : {}),
      logFields: traceField(opts.project, req.headers),
    });
    return sendOutcome(reply, outcome);
  });
}
