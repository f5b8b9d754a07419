// Operator API under /v1: lineage list, status, cancel, replay, output, dead
// letters and redrive. Authenticated like pushes (OIDC) in serve mode. Reply
// shapes are the schemas of src/schemas/operator.ts.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Delivery } from '../delivery/deliver.ts';
import type { Effects } from '../delivery/effects.ts';
import type { JobCompletion } from '../delivery/job-completion.ts';
import type { AttemptLedger, BlobStore, Clock, LineageRecord, NotifyTarget, QueuedTask, TaskEnvelope, TaskQueue, Tier } from '../interfaces.ts';
import { ReplayRefused, replayLineage } from '../operator/replay.ts';
import { BadListQuery, toListQuery, toTaskList } from '../operator/task-list.ts';
import type { OutputHub } from '../output/output-hub.ts';
import { followOutput, readOutput } from '../output/output-reader.ts';
import { nextTierTaskName } from '../queues/tier-names.ts';
import {
  CancelReplySchema,
  DeadLettersReplySchema,
  RedriveReplySchema,
  ReplayReplySchema,
  TASK_ID_PATTERN,
  type TaskListQuery,
  TaskListQuerySchema,
  TaskListSchema,
  type TaskStatus,
  TaskStatusSchema,
} from '../schemas/operator.ts';

export interface OperatorRouteOptions {
  ledger: AttemptLedger;
  queue?: TaskQueue;
  blobs?: BlobStore;
  output?: OutputHub;
  delivery: Delivery;
  effects: Effects;
  chain: Tier[];
  clock: Clock;
  logger: Logger;
  /** For replays: OIDC identity and dispatch deadline of the tasks created. */
  invokerServiceAccount?: string;
  dispatchDeadlineSeconds?: number;
  /** A cancelled task of a job counts toward the job's end. */
  jobs?: JobCompletion;
}

const ID = { type: 'string', pattern: TASK_ID_PATTERN } as const;
const IdParams = { type: 'object', properties: { id: ID }, required: ['id'] } as const;

export async function operatorRoutes(app: FastifyInstance, opts: OperatorRouteOptions) {
  /** The lineage's first task, if it still waits in the first tier's queue. */
  const findQueued = async (id: string): Promise<QueuedTask | undefined> => {
    if (!opts.queue?.getTask) return undefined;
    try {
      return await opts.queue.getTask(opts.chain[0]!.queue, id);
    } catch (err) {
      opts.logger.warn({ err: { message: (err as Error).message }, lineage: id }, 'could not look the task up in its queue');
      return undefined;
    }
  };

  app.get<{ Querystring: TaskListQuery }>(
    '/v1/tasks',
    { schema: { querystring: TaskListQuerySchema, response: { 200: TaskListSchema } } },
    async (req, reply) => {
      let query;
      try {
        query = toListQuery(req.query);
      } catch (err) {
        if (err instanceof BadListQuery) return reply.code(400).send({ error: { code: err.code, message: err.message } });
        throw err;
      }
      return toTaskList(await opts.ledger.list(query));
    },
  );

  app.get<{ Params: { id: string } }>('/v1/tasks/:id', { schema: { params: IdParams, response: { 200: TaskStatusSchema } } }, async (req, reply) => {
    const record = await opts.ledger.get(req.params.id);
    if (!record) {
      // Never delivered yet: its first task may wait in the first tier's queue.
      const queued = await findQueued(req.params.id);
      if (queued) return scheduledStatus(req.params.id, opts.chain[0]!.queue, queued);
      return reply.code(404).send({ error: { code: 'NotFound', message: `no task lineage "${req.params.id}"` } });
    }
    const deadLetters = await opts.ledger.listDeadLetters(record.id);
    return { ...statusOf(record), deadLetters: deadLetters.map((d) => ({ key: d.key, kind: d.kind, error: d.error, createdAt: d.createdAt })) };
  });

  // The path /v1/tasks/ID:replay (a literal colon, Google API style); the
  // router needs the id's pattern to tell where the id ends.
  app.post<{ Params: { id: string } }>(
    '/v1/tasks/:id(^[A-Za-z0-9_-]+)::replay',
    { schema: { params: IdParams, response: { 200: ReplayReplySchema } } },
    async (req, reply) => {
      try {
        const replay = await replayLineage(
          {
            ledger: opts.ledger,
            ...(opts.queue ? { queue: opts.queue } : {}),
            chain: opts.chain,
            ...(opts.invokerServiceAccount ? { invokerServiceAccount: opts.invokerServiceAccount } : {}),
            dispatchDeadlineSeconds: opts.dispatchDeadlineSeconds ?? 600,
          },
          req.params.id,
        );
        opts.logger.info({ lineage: replay.replayOf, replay: replay.id }, 'lineage replayed');
        return replay;
      } catch (err) {
        if (err instanceof ReplayRefused) {
          return reply.code(err.status).send({ error: { code: err.code, message: err.message }, ...(err.state ? { state: err.state } : {}) });
        }
        throw err;
      }
    },
  );

  // The job's result (its return value, or the offloaded one).
  app.get<{ Params: { id: string } }>('/v1/tasks/:id/result', { schema: { params: IdParams } }, async (req, reply) => {
    const record = await opts.ledger.get(req.params.id);
    if (!record) return reply.code(404).send({ error: { code: 'NotFound', message: `no task lineage "${req.params.id}"` } });
    if (record.outputRef && opts.blobs) {
      const bytes = await opts.blobs.get(record.outputRef);
      return reply.type('application/json').send(bytes);
    }
    if (record.result === undefined) return reply.code(404).send({ error: { code: 'NoResult', message: 'the task has no result (yet)' } });
    return reply.send(record.result);
  });

  // The job's output (exec stdout/stderr, ctx.log lines) as text; ?follow=1 streams it as Server-Sent Events.
  app.get<{ Params: { id: string }; Querystring: { follow?: string } }>(
    '/v1/tasks/:id/output',
    { schema: { params: IdParams, querystring: { type: 'object', properties: { follow: { type: 'string', enum: ['0', '1', 'true', 'false'] } } } } },
    async (req, reply) => {
      const id = req.params.id;
      const output = opts.output;
      if (!output) return reply.code(404).send({ error: { code: 'NoOutput', message: 'this worker keeps no job output' } });
      const follow = req.query.follow === '1' || req.query.follow === 'true';
      if (!follow) {
        const text = await readOutput(output, opts.ledger, id);
        if (text === undefined) return reply.code(404).send({ error: { code: 'NotFound', message: `no task lineage "${id}"` } });
        return reply.type('text/plain; charset=utf-8').send(text);
      }
      if (!(await opts.ledger.get(id))) return reply.code(404).send({ error: { code: 'NotFound', message: `no task lineage "${id}"` } });
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      try {
        await followOutput(output, opts.ledger, id, (e) => res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`), abort.signal);
      } catch (err) {
        opts.logger.warn({ err: { message: (err as Error).message }, lineage: id }, 'output stream failed');
        res.write(`event: error\ndata: ${JSON.stringify({ message: 'output stream failed' })}\n\n`);
      } finally {
        clearInterval(keepAlive);
        res.end();
      }
    },
  );

  async function notifyCancelled(record: LineageRecord, target: NotifyTarget): Promise<void> {
    const tier = record.tier;
    await opts.effects.notify(
      'cancelled',
      record,
      {
        type: record.type ?? 'unknown',
        queue: record.queue ?? opts.chain[tier]?.queue ?? opts.chain[0]!.queue,
        tier,
        attempt: record.attempts[String(tier)] ?? 0,
        maxAttempts: record.maxAttempts ?? opts.chain[tier]?.maxAttempts ?? null,
        error: { code: 'Cancelled', message: 'the task was cancelled', permanent: true },
      },
      target,
      opts.logger.child({ lineage: record.id }),
    );
  }

  app.post<{ Params: { id: string } }>('/v1/tasks/:id/cancel', { schema: { params: IdParams, response: { 200: CancelReplySchema } } }, async (req, reply) => {
    const id = req.params.id;
    const now = opts.clock.now();
    const record = await opts.ledger.cancel(id, now);
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
      const first = opts.chain[0]!.queue;
      const queued = await findQueued(id);
      await tryDelete(first, id);
      if (deleted.length === 0) return reply.code(404).send({ error: { code: 'NotFound', message: `no task lineage "${id}"` } });
      // Recorded, so status and the list show it cancelled rather than unknown.
      const envelope = queued ? envelopeOf(queued) : undefined;
      const type = envelope?.type;
      const cancelled = await opts.ledger.cancel(id, now, { queue: first, ...(type ? { type } : {}) });
      if (cancelled) await notifyCancelled(cancelled, envelope?.notify ?? {});
      return { id, state: 'cancelled', deleted };
    }
    if (record.state !== 'cancelled' || record.finishedAt !== new Date(now).toISOString()) {
      return reply.code(409).send({ error: { code: 'AlreadyEnded', message: `the task already ${record.state}` }, state: record.state });
    }
    const aborted = opts.delivery.abort(id);
    // A running delivery (here, or on the instance the cancel watch reaches)
    // sends `cancelled` when its job stops; a lineage waiting for a retry, a
    // throttled one or one whose runner died is notified here. Both use the
    // same event id, so a receiver that sees two drops one.
    const leaseLive = record.lease !== undefined && Date.parse(record.lease.until) > now;
    if (!aborted && !leaseLive) await notifyCancelled(record, record.notify ?? {});
    await opts.jobs?.lineageEnded(record, opts.logger);
    const last = record.history[record.history.length - 1];
    if (last) await tryDelete(last.queue, last.taskName);
    const next = opts.chain[record.tier + 1];
    if (next) await tryDelete(next.queue, nextTierTaskName(id, record.tier + 1));
    return { id, state: record.state, aborted, deleted };
  });

  app.get<{ Querystring: { id?: string } }>('/v1/dead-letters', { schema: { response: { 200: DeadLettersReplySchema } } }, async (req) => {
    const letters = await opts.ledger.listDeadLetters(req.query.id);
    return { deadLetters: letters.map((d) => ({ key: d.key, lineageId: d.lineageId, kind: d.kind, tier: d.tier, error: d.error, createdAt: d.createdAt })) };
  });

  app.post<{ Body: { id?: string } | undefined }>('/v1/dead-letters/redrive', { schema: { response: { 200: RedriveReplySchema } } }, async (req, reply) => {
    const id = req.body && typeof req.body === 'object' ? req.body.id : undefined;
    const outcome = await opts.effects.redriveAll(id, opts.logger);
    // Nothing to redrive for an id no lineage has is a mistyped id, not "all clear".
    if (id !== undefined && outcome.redriven === 0 && outcome.failed === 0 && !(await opts.ledger.get(id))) {
      return reply.code(404).send({ error: { code: 'NotFound', message: `no task lineage "${id}"` } });
    }
    return outcome;
  });
}

/** The record as the status API shows it: the kept payload (`source`) stays inside. */
function statusOf(record: LineageRecord): TaskStatus {
  const { source, ...rest } = record;
  return { ...rest, replayable: source !== undefined && !source.omitted };
}

function envelopeOf(task: QueuedTask): Partial<TaskEnvelope> | undefined {
  try {
    const parsed = JSON.parse(task.body?.toString('utf8') ?? '') as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Partial<TaskEnvelope>) : undefined;
  } catch {
    return undefined;
  }
}

/** GET /v1/tasks/:id of a task that waits in its queue and never ran. */
function scheduledStatus(id: string, queue: string, task: QueuedTask): TaskStatus {
  const type = envelopeOf(task)?.type;
  const created = task.createTime ?? task.scheduleTime ?? new Date().toISOString();
  return {
    id,
    ...(typeof type === 'string' ? { type } : {}),
    state: 'scheduled',
    tier: 0,
    queue,
    attempts: {},
    history: [],
    ...(task.scheduleTime ? { scheduleTime: task.scheduleTime } : {}),
    createdAt: created,
    updatedAt: created,
  };
}
