// Jobs of many tasks (DESIGN §8): the ledger's job record, the operator API's
// GET /v1/jobs/:id answer and the executor.job.completed event. Shared by the
// ledgers, the route, the SDK and the CLI.
import { type Static, Type } from '@sinclair/typebox';
import { ErrorInfoSchema, LabelsSchema } from './envelope.ts';

/** States in which a task of a job has ended (a lineage's ENDED_STATES). */
export const JobTaskEndStateSchema = Type.Union([Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')]);
export type JobTaskEndState = Static<typeof JobTaskEndStateSchema>;

/** The ledger's job record: written when a task of the job ends. */
export const JobRecordSchema = Type.Object({
  id: Type.String(),
  size: Type.Integer(),
  /** Ended tasks by lineage id (first end wins). */
  ended: Type.Record(Type.String(), Type.Object({ state: JobTaskEndStateSchema, error: Type.Optional(ErrorInfoSchema) })),
  counts: Type.Object({ succeeded: Type.Integer(), failed: Type.Integer(), cancelled: Type.Integer() }),
  labels: Type.Optional(LabelsSchema),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  /** Set once, by the end of the last task; the completed event goes out then. */
  completedAt: Type.Optional(Type.String()),
  expiresAt: Type.Optional(Type.String()),
});
export type JobRecord = Static<typeof JobRecordSchema>;

/** One task's line in GET /v1/jobs/:id. `pending` = the worker has not seen it yet. */
export const JobTaskStatusSchema = Type.Object({
  id: Type.String(),
  index: Type.Integer(),
  name: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
  state: Type.String(),
  tier: Type.Optional(Type.Integer()),
  attempts: Type.Record(Type.String(), Type.Integer()),
  /** Every attempt's error, oldest first, across tiers. */
  errors: Type.Array(ErrorInfoSchema),
  error: Type.Optional(ErrorInfoSchema),
});
export type JobTaskStatus = Static<typeof JobTaskStatusSchema>;

export const JobStatusSchema = Type.Object({
  id: Type.String(),
  size: Type.Integer(),
  /** Tasks by state, `pending` included. */
  counts: Type.Record(Type.String(), Type.Integer()),
  tasks: Type.Array(JobTaskStatusSchema),
  tasksInError: Type.Array(Type.String()),
  labels: Type.Optional(LabelsSchema),
  completedAt: Type.Optional(Type.String()),
});
export type JobStatus = Static<typeof JobStatusSchema>;

export const JOB_COMPLETED_TYPE = 'executor.job.completed';

export const JobCompletedDataSchema = Type.Object({
  id: Type.String(),
  size: Type.Integer(),
  counts: Type.Object({ succeeded: Type.Integer(), failed: Type.Integer(), cancelled: Type.Integer() }),
  tasksInError: Type.Array(Type.String()),
  labels: Type.Optional(LabelsSchema),
  completedAt: Type.String(),
});
export type JobCompletedData = Static<typeof JobCompletedDataSchema>;

/** Lineage id of task `index` of job `jobId`: the service enumerates a job's tasks from it. */
export function jobTaskId(jobId: string, index: number): string {
  return `${jobId}-${index}`;
}
