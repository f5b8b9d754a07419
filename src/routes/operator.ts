// Operator API under /v1: lineage status, cancel, output, dead letters and
// redrive. Authenticated like pushes (OIDC) in serve mode.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AttemptLedger, BlobStore, Clock, TaskQueue, Tier } from '../interfaces.ts';
import type { Delivery } from '../delivery/deliver.ts';
import type { Effects } from '../delivery/effects.ts';
import type { JobCompletion } from '../delivery/job-completion.ts';
import { nextTierTaskName } from '../queues/tier-names.ts';

export interface OperatorRouteOptions {
  ledger: AttemptLedger;
  queue?: TaskQueue;
  blobs?: BlobStore;
  delivery: Delivery;
  effects: Effects;
  chain: Tier[];
  clock: Clock;
  logger: Logger;
  /** A cancelled task of a job counts toward the job's end. */
  jobs?: JobCompletion;
}

const ID = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,500}$' } as const;
const IdParams = { type: 'object', properties: { id: ID }, required: ['id'] } as const;

export async function operatorRoutes(app: FastifyInstance, opts: OperatorRouteOptions) {
  app.get<{ Params: { id: string } }>('/v1/tasks/:id', { schema: { params: IdParams } }, async (req, reply) => {
    const record = await opts.ledger.get(req.params.id);
    if (!record) return reply.code(404).send({ error: { code: 'NotFound', message: `no task lineage "${req.params.id}"` } });
    const deadLetters = await opts.ledger.listDeadLetters(record.id);
    return { ...record, deadLetters: deadLetters.map((d) => ({ key: d.key, kind: d.kind, error: d.error, createdAt: d.createdAt })) };
  });

  app.get<{ Params: { id: string } }>('/v1/tasks/:id/output', { schema: { params: IdParams } }, async (req, reply) => {
    const record = await opts.ledger.get(req.params.id);
    if (!record) return reply.code(404).send({ error: { code: 'NotFound', message: `no task lineage "${req.params.id}"` } });
    if (record.outputRef && opts.blobs) {
      const bytes = await opts.blobs.get(record.outputRef);
      return reply.type('application/json').send(bytes);
    }
    if (record.result === undefined) return reply.code(404).send({ error: { code: 'NoOutput', message: 'the task has no output (yet)' } });
    return reply.send(record.result);
  });

  app.post<{ Params: { id: string } }>('/v1/tasks/:id/cancel', { schema: { params: IdParams } }, async (req, reply) => {
    const id = req.params.id;
    const record = await opts.ledger.cancel(id, opts.clock.now());
    const deleted: string[] = [];
    const tryDelete = async (queue: string, task: string) => {
      if (!opts.queue) return;
      try {
        if (await opts.queue.deleteTask(queue, task)) deleted.push(`${queue}/${task}`);
      } catch (err) {
        opts.logger.warn({ err: { message: (err as Error).message }, queue, task }, 'cancel: could not delete the queued task');
      }
    };
    if (!record) {
      // Not started yet: the first tier's task may still be waiting under the lineage id.
      await tryDelete(opts.chain[0]!.queue, id);
      if (deleted.length === 0) return reply.code(404).send({ error: { code: 'NotFound', message: `no task lineage "${id}"` } });
      return { id, state: 'cancelled', deleted };
    }
    if (record.state !== 'cancelled') {
      return reply.code(409).send({ error: { code: 'AlreadyEnded', message: `the task already ${record.state}` }, state: record.state });
    }
    const aborted = opts.delivery.abort(id);
    await opts.jobs?.lineageEnded(record, opts.logger);
    const last = record.history[record.history.length - 1];
    if (last) await tryDelete(last.queue, last.taskName);
    const next = opts.chain[record.tier + 1];
    if (next) await tryDelete(next.queue, nextTierTaskName(id, record.tier + 1));
    return { id, state: record.state, aborted, deleted };
  });

  app.get<{ Querystring: { id?: string } }>('/v1/dead-letters', async (req) => {
    const letters = await opts.ledger.listDeadLetters(req.query.id);
    return { deadLetters: letters.map((d) => ({ key: d.key, lineageId: d.lineageId, kind: d.kind, tier: d.tier, error: d.error, createdAt: d.createdAt })) };
  });

  app.post<{ Body: { id?: string } | undefined }>('/v1/dead-letters/redrive', async (req) => {
    const id = req.body && typeof req.body === 'object' ? req.body.id : undefined;
    return opts.effects.redriveAll(id, opts.logger);
  });
}
