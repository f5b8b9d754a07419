// POST /pubsub: a Pub/Sub push. The message data is a task envelope; it goes
// through the same delivery decision as a Cloud Tasks push. The attempt comes
// from deliveryAttempt (present with a dead-letter policy) and the ledger; the
// tier from the subscription named in CHAIN (`queue#subscription`).
//
// The push wrapper is input like the envelope: it is parsed by intake.ts's
// defensive parser (any attribute name, `__proto__` included, is just an own
// property of a plain parse result; attributes are not read), and a wrapper
// that cannot be used is still delivered, as an invalid task keyed by the
// hash of the whole body, so it is recorded and acknowledged.
import type { FastifyInstance } from 'fastify';
import type { Delivery, DeliveryInput } from '../delivery/deliver.ts';
import { parseJsonDefensively } from '../delivery/intake.ts';
import type { PushHeaders } from '../delivery/push-headers.ts';
import type { Tier } from '../interfaces.ts';
import { PUBSUB_BODY_LIMIT } from '../limits.ts';
import { traceField } from '../logger.ts';
import type { Metrics } from './metrics.ts';
import { acceptAnyBody, isRawBody } from './raw-body.ts';
import { bodyInput, PUSH_REPLY, sendOutcome } from './tasks.ts';

interface PushBody {
  message?: { data?: unknown; attributes?: unknown; messageId?: unknown; message_id?: unknown };
  subscription?: unknown;
  deliveryAttempt?: unknown;
}

export async function pubsubRoutes(app: FastifyInstance, opts: { delivery: Delivery; project: string; metrics: Metrics; chain: Tier[] }) {
  acceptAnyBody(app, PUBSUB_BODY_LIMIT);

  app.post('/pubsub', { schema: { response: PUSH_REPLY } }, async (req, reply) => {
    const raw = req.body;
    let b: PushBody = {};
    let rejected: DeliveryInput['rejected'];
    if (!isRawBody(raw) || !raw.bytes) {
      ({ rejected } = bodyInput(raw));
    } else {
      const parsed = parseJsonDefensively(raw.bytes);
      if (!parsed.ok) rejected = { reason: `Pub/Sub push body: ${parsed.reason}`, sha256: raw.sha256 };
      else if (!isObject(parsed.value) || !isObject(parsed.value.message)) rejected = { reason: 'Pub/Sub push body has no message', sha256: raw.sha256 };
      else b = parsed.value as PushBody;
    }
    const message = b.message ?? {};
    const sub = typeof b.subscription === 'string' ? b.subscription.replace(/^projects\/[^/]+\/subscriptions\//, '') : undefined;
    const tierIndex = sub ? opts.chain.findIndex((t) => t.subscription === sub) : -1;
    const rawId = message.messageId ?? message.message_id;
    const messageId = typeof rawId === 'string' && /^[A-Za-z0-9_-]{1,400}$/.test(rawId) ? rawId : undefined;
    const attempt =
      typeof b.deliveryAttempt === 'number' && Number.isInteger(b.deliveryAttempt) && b.deliveryAttempt > 0 && b.deliveryAttempt < 1e9
        ? b.deliveryAttempt
        : undefined;
    const push: PushHeaders = {
      problems: [],
      ...(tierIndex >= 0 ? { queueName: opts.chain[tierIndex]!.queue } : {}),
      ...(messageId ? { taskName: `pubsub-${messageId}` } : {}),
      ...(attempt ? { retryCount: attempt - 1 } : {}),
    };
    if (sub && tierIndex < 0) push.problems.push(`subscription "${sub.slice(0, 200)}" is not in CHAIN; tier 0 assumed`);
    const data = message.data;
    let body: Buffer | undefined;
    if (!rejected) {
      if (typeof data === 'string') body = Buffer.from(data, 'base64');
      else if (isRawBody(raw)) rejected = { reason: 'Pub/Sub message has no data', sha256: raw.sha256 };
    }
    const outcome = await opts.delivery.deliver({
      body,
      ...(rejected ? { rejected } : {}),
      push,
      ...(tierIndex >= 0 ? { tierHint: tierIndex } : {}),
      logFields: traceField(opts.project, req.headers),
    });
    return sendOutcome(reply, outcome);
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
