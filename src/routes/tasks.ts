// POST /tasks: the Cloud Tasks push. The body is read as raw bytes whatever
// the Content-Type says (Cloud Tasks adds none); the delivery decides.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Delivery, DeliveryOutcome } from '../delivery/deliver.ts';
import { parsePushHeaders } from '../delivery/push-headers.ts';
import { traceField } from '../logger.ts';
import type { Metrics } from './metrics.ts';

/** 1 MiB task limit plus headroom for headers-in-body encodings. */
export const TASK_BODY_LIMIT = 1024 * 1024 + 64 * 1024;

export interface TaskRouteOptions {
  delivery: Delivery;
  project: string;
  metrics: Metrics;
}

export async function taskRoutes(app: FastifyInstance, opts: TaskRouteOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: TASK_BODY_LIMIT }, (_req, body, done) => done(null, body));

  // Proves to `executor doctor` (and to a person with curl) that SERVICE_URL/tasks is this route.
  app.get('/tasks', async (_req, reply) =>
    reply.code(405).header('allow', 'POST').send({ error: { code: 'MethodNotAllowed', message: 'Cloud Tasks pushes with POST' } }),
  );

  app.post('/tasks', { bodyLimit: TASK_BODY_LIMIT }, async (req, reply) => {
    const outcome = await opts.delivery.deliver({
      body: Buffer.isBuffer(req.body) ? req.body : undefined,
      push: parsePushHeaders(req.headers),
      logFields: traceField(opts.project, req.headers),
    });
    return sendOutcome(reply, outcome);
  });
}

export function sendOutcome(reply: FastifyReply, outcome: DeliveryOutcome) {
  if (outcome.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(outcome.retryAfterSeconds))));
  return reply.code(outcome.status).send({
    id: outcome.id,
    outcome: outcome.outcome,
    ...(outcome.attempt !== undefined ? { attempt: outcome.attempt } : {}),
    ...(outcome.tier !== undefined ? { tier: outcome.tier } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
  });
}
