// POST /tasks: the Cloud Tasks push. The body is read as raw bytes whatever
// the Content-Type says (Cloud Tasks adds none); the delivery decides.

import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Delivery, DeliveryInput, DeliveryOutcome, OutcomeKind } from '../delivery/deliver.ts';
import { parsePushHeaders } from '../delivery/push-headers.ts';
import { boundError, TASK_BODY_LIMIT } from '../limits.ts';
import { traceField } from '../logger.ts';
import { ErrorInfoSchema } from '../schemas/index.ts';
import type { Metrics } from './metrics.ts';
import { acceptAnyBody, isRawBody } from './raw-body.ts';

export { TASK_BODY_LIMIT };

export interface TaskRouteOptions {
  delivery: Delivery;
  project: string;
  metrics: Metrics;
}

export async function taskRoutes(app: FastifyInstance, opts: TaskRouteOptions): Promise<void> {
  acceptAnyBody(app, TASK_BODY_LIMIT);

  // Proves to `executor doctor` (and to a person with curl) that SERVICE_URL/tasks is this route.
  app.get('/tasks', async (_req, reply) =>
    reply
      .code(405)
      .header('allow', 'POST')
      .send({ error: { code: 'MethodNotAllowed', message: 'Cloud Tasks pushes with POST' } }),
  );

  app.post('/tasks', { schema: { response: PUSH_REPLY } }, async (req, reply) => {
    const outcome = await opts.delivery.deliver({
      ...bodyInput(req.body),
      push: parsePushHeaders(req.headers),
      logFields: traceField(opts.project, req.headers),
    });
    return sendOutcome(reply, outcome);
  });
}

/**
 * The delivery's view of a raw body: the (decoded) bytes, keyed by the hash of
 * what was received, or a rejection by that hash (over the limit, an unknown
 * or corrupt Content-Encoding).
 */
export function bodyInput(raw: unknown): Pick<DeliveryInput, 'body' | 'rejected' | 'receivedSha256'> {
  if (!isRawBody(raw)) return { body: undefined };
  if (raw.bytes) return { body: raw.bytes, receivedSha256: () => raw.sha256 };
  const rejection = raw.rejection ?? { code: 'InvalidTask', reason: `body of ${raw.size} bytes is unusable` };
  return { body: undefined, rejected: { reason: rejection.reason, code: rejection.code, sha256: raw.sha256 } };
}

/** What Cloud Tasks (and Pub/Sub) must do with the push: 2xx ends it, 429/5xx retry it. */
export function statusOf(outcome: OutcomeKind): 200 | 429 | 500 | 503 {
  switch (outcome) {
    case 'throttled':
    case 'busy':
      return 429;
    case 'retry':
    case 'aborted':
      return 503;
    case 'owed':
      return 500;
    default:
      return 200;
  }
}

/** The push reply, serialised by fast-json-stringify (the routes' response schema). */
export const PushReplySchema = Type.Object({
  id: Type.String(),
  outcome: Type.String(),
  attempt: Type.Optional(Type.Integer()),
  tier: Type.Optional(Type.Integer()),
  error: Type.Optional(ErrorInfoSchema),
});

/** `response` for a push route: every status it can answer has the same reply. */
export const PUSH_REPLY = { 200: PushReplySchema, 429: PushReplySchema, 500: PushReplySchema, 503: PushReplySchema };

export function sendOutcome(reply: FastifyReply, outcome: DeliveryOutcome) {
  if (outcome.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(outcome.retryAfterSeconds))));
  return reply.code(statusOf(outcome.outcome)).send({
    id: outcome.id,
    outcome: outcome.outcome,
    attempt: outcome.attempt,
    tier: outcome.tier,
    // A job's error text can be any size; the reply (Cloud Tasks keeps it as lastAttempt) carries a cut.
    error: outcome.error ? boundError(outcome.error) : undefined,
  });
}
