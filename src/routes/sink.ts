// `executor dev`'s notification sink: receives the notifier queue's pushes
// (CloudEvents, structured JSON), prints one line each, keeps them for
// GET /v1/notifications (?id=lineage&type=executor.task.failed).
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { NotificationSink } from '../notifier/memory-sink.ts';
import type { CloudEvent } from '../schemas/index.ts';

export async function sinkRoutes(app: FastifyInstance, opts: { sink: NotificationSink; logger: Logger }) {
  app.addContentTypeParser(['application/cloudevents+json'], { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.post<{ Body: CloudEvent }>('/v1/notifications', async (req, reply) => {
    const e = req.body;
    if (!e || typeof e !== 'object' || typeof e.id !== 'string' || typeof e.type !== 'string') {
      return reply.code(200).send({ ignored: 'not a CloudEvent' });
    }
    opts.sink.add(e);
    opts.logger.info({ event: e.id, type: e.type, state: e.data?.state, error: e.data?.error?.code }, `notification ${e.type} ${e.subject}`);
    return { received: e.id };
  });
  app.get<{ Querystring: { id?: string; type?: string } }>('/v1/notifications', async (req) => ({
    notifications: opts.sink.list({ ...(req.query.id ? { id: req.query.id } : {}), ...(req.query.type ? { type: req.query.type } : {}) }),
  }));
}
