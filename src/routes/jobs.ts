// Operator API for jobs of many tasks (DESIGN §8): GET /v1/jobs/:id (every
// task's state and errors, counts by state) and POST /v1/jobs/:id/cancel.
// A job's tasks are the lineages `<job>-0 .. <job>-(size-1)`; the size comes
// from the job record, any task's record, or the caller (`?size=`).
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Delivery } from '../delivery/deliver.ts';
import type { JobCompletion } from '../delivery/job-completion.ts';
import type { AttemptLedger, Clock, ErrorInfo, LineageRecord, TaskQueue, Tier } from '../interfaces.ts';
import { nextTierTaskName } from '../queues/tier-names.ts';
import { type JobRecord, type JobStatus, type JobTaskStatus, jobTaskId } from '../schemas/index.ts';
import { JOB_ID_PATTERN } from '../schemas/task-id.ts';

export interface JobRouteOptions {
  ledger: AttemptLedger;
  queue?: TaskQueue;
  delivery: Delivery;
  jobs: JobCompletion;
  chain: Tier[];
  clock: Clock;
  logger: Logger;
}

const ID = { type: 'string', pattern: JOB_ID_PATTERN } as const;
const IdParams = { type: 'object', properties: { id: ID }, required: ['id'] } as const;
const SizeQuery = { type: 'object', properties: { size: { type: 'integer', minimum: 1, maximum: 100000 } } } as const;

/** Reads in parallel, a bounded number at a time. */
async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Every attempt's error, oldest first, across tiers; the record's last error if the history lost it. */
export function attemptErrors(record: LineageRecord): ErrorInfo[] {
  const errors = record.history.filter((h) => h.error).map((h) => h.error!);
  const last = errors[errors.length - 1];
  if (record.error && (!last || last.code !== record.error.code || last.message !== record.error.message)) errors.push(record.error);
  return errors;
}

export async function jobRoutes(app: FastifyInstance, opts: JobRouteOptions) {
  async function sizeOf(id: string, job: JobRecord | undefined, hint: number | undefined): Promise<number | undefined> {
    if (job) return job.size;
    const first = await opts.ledger.get(jobTaskId(id, 0));
    return first?.job?.size ?? hint;
  }

  const notFound = (id: string) => ({
    error: { code: 'NotFound', message: `no job "${id}" (no task of it seen yet; pass ?size=N to list its pending tasks)` },
  });

  app.get<{ Params: { id: string }; Querystring: { size?: number } }>(
    '/v1/jobs/:id',
    { schema: { params: IdParams, querystring: SizeQuery } },
    async (req, reply) => {
      const id = req.params.id;
      const job = await opts.ledger.getJob(id);
      const size = await sizeOf(id, job, req.query.size);
      if (size === undefined) return reply.code(404).send(notFound(id));
      const indexes = Array.from({ length: size }, (_, i) => i);
      const tasks = await mapBounded(indexes, 32, async (index): Promise<JobTaskStatus> => {
        const taskId = jobTaskId(id, index);
        const record = await opts.ledger.get(taskId);
        const ended = job?.ended[taskId];
        if (!record) {
          return {
            id: taskId,
            index,
            state: ended?.state ?? 'pending',
            attempts: {},
            errors: ended?.error ? [ended.error] : [],
            ...(ended?.error ? { error: ended.error } : {}),
          };
        }
        return {
          id: taskId,
          index,
          ...(record.job?.name ? { name: record.job.name } : {}),
          ...(record.type ? { type: record.type } : {}),
          state: record.state,
          tier: record.tier,
          attempts: record.attempts,
          errors: attemptErrors(record),
          ...(record.error ? { error: record.error } : {}),
        };
      });
      const counts: Record<string, number> = {};
      for (const task of tasks) counts[task.state] = (counts[task.state] ?? 0) + 1;
      const labels = job?.labels ?? (await opts.ledger.get(jobTaskId(id, 0)))?.labels;
      const status: JobStatus = {
        id,
        size,
        counts,
        tasks,
        tasksInError: tasks.filter((task) => task.state === 'failed').map((task) => task.id),
        ...(labels ? { labels } : {}),
        ...(job?.completedAt ? { completedAt: job.completedAt } : {}),
      };
      return status;
    },
  );

  app.post<{ Params: { id: string }; Querystring: { size?: number } }>(
    '/v1/jobs/:id/cancel',
    { schema: { params: IdParams, querystring: SizeQuery } },
    async (req, reply) => {
      const id = req.params.id;
      const job = await opts.ledger.getJob(id);
      const size = await sizeOf(id, job, req.query.size);
      if (size === undefined) return reply.code(404).send(notFound(id));
      const log = opts.logger.child({ job: id });
      const cancelled: string[] = [];
      const alreadyEnded: string[] = [];
      const deleted: string[] = [];
      const tryDelete = async (queue: string, task: string) => {
        if (!opts.queue) return;
        try {
          if (await opts.queue.deleteTask(queue, task)) deleted.push(`${queue}/${task}`);
        } catch (err) {
          log.warn({ err: { message: (err as Error).message }, queue, task }, 'job cancel: could not delete the queued task');
        }
      };
      await mapBounded(
        Array.from({ length: size }, (_, i) => i),
        16,
        async (index) => {
          const taskId = jobTaskId(id, index);
          const now = opts.clock.now();
          let record = await opts.ledger.cancel(taskId, now);
          const unseen = !record;
          if (!record) {
            // Never seen by a worker: delete its queued task, and leave a cancelled
            // record so a delivery already on its way (or a Pub/Sub message, which
            // cannot be deleted) finds the lineage ended and runs nothing.
            await tryDelete(opts.chain[0]!.queue, taskId);
            await opts.ledger.begin({
              id: taskId,
              tier: 0,
              queue: opts.chain[0]!.queue,
              taskName: 'cancelled-before-start',
              headerAttempt: 0,
              maxAttempts: opts.chain[0]!.maxAttempts,
              job: { id, size, index },
              now,
            });
            record = await opts.ledger.cancel(taskId, now);
          }
          if (!record) return;
          if (record.state !== 'cancelled') {
            alreadyEnded.push(taskId);
            return;
          }
          cancelled.push(taskId);
          opts.delivery.abort(taskId);
          if (!unseen) {
            const last = record.history[record.history.length - 1];
            if (last) await tryDelete(last.queue, last.taskName);
            const next = opts.chain[record.tier + 1];
            if (next) await tryDelete(next.queue, nextTierTaskName(taskId, record.tier + 1));
          }
          await opts.jobs.lineageEnded(record.job ? record : { ...record, job: { id, size, index } }, log);
        },
      );
      const byIndex = (a: string, b: string) => Number(a.slice(id.length + 1)) - Number(b.slice(id.length + 1));
      return { id, cancelled: cancelled.sort(byIndex), alreadyEnded: alreadyEnded.sort(byIndex), deleted: deleted.sort() };
    },
  );
}
