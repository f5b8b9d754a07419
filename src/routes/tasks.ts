// POST /tasks: the Cloud Tasks push. The body is read as raw bytes whatever
// the Content-Type says (Cloud Tasks adds none); the delivery decides.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Delivery, DeliveryInput, DeliveryOutcome } from '../delivery/deliver.ts';
import { parsePushHeaders } from '../delivery/push-headers.ts';
import { boundError, TASK_BODY_LIMIT } from '../limits.ts';
import { traceField } from '../logger.ts';
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

  app.post('/tasks', async (req, reply) => {
    const outcome = await opts.delivery.deliver({
      ...bodyInput(req.body),
      push: parsePushHeaders(req.headers),
      logFields: traceField(opts.project, req.headers),
    });
    return sendOutcome(reply, outcome);
  });
}

/** The delivery's view of a raw body: the bytes, or (over the limit) a rejection by hash. */
export function bodyInput(raw: unknown): Pick<DeliveryInput, 'body' | 'rejected'> {
  if (!isRawBody(raw)) return { body: undefined };
  if (raw.bytes) return { body: raw.bytes };
  return { body: undefined, rejected: { reason: `body of ${raw.size} bytes is over the limit of ${raw.limit}`, sha256: raw.sha256 } };
}

export function sendOutcome(reply: FastifyReply, outcome: DeliveryOutcome) {
  if (outcome.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(outcome.retryAfterSeconds))));
  return reply.code(outcome.status).send({
    id: outcome.id,
    outcome: outcome.outcome,
    ...(outcome.attempt !== undefined ? { attempt: outcome.attempt } : {}),
    ...(outcome.tier !== undefined ? { tier: outcome.tier } : {}),
    // A job's error text can be any size; the reply (Cloud Tasks keeps it as lastAttempt) carries a cut.
    ...(outcome.error ? { error: boundError(outcome.error) } : {}),
  });
}
