// Response shapes of the /v1 operator API (DESIGN §9). The routes declare them
// as response schemas; the SDK's OperatorClient derives its types from them.
import { type Static, Type } from '@sinclair/typebox';
import { CloudEventSchema } from './cloud-event.ts';
import { ErrorInfoSchema, JobRefSchema } from './envelope.ts';

export { TASK_ID_PATTERN } from './task-id.ts';

export const LineageStateSchema = Type.Union([
  Type.Literal('running'),
  Type.Literal('retrying'),
  Type.Literal('throttled'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('forwarded'),
  Type.Literal('cancelled'),
]);

export const AttemptOutcomeSchema = Type.Union(
  (['running', 'succeeded', 'failed', 'retry', 'throttled', 'forwarded', 'aborted', 'crashed', 'cancelled', 'duplicate'] as const).map((o) => Type.Literal(o)),
);

export const AttemptEntrySchema = Type.Object({
  tier: Type.Integer(),
  attempt: Type.Integer(),
  queue: Type.String(),
  taskName: Type.String(),
  outcome: AttemptOutcomeSchema,
  startedAt: Type.String(),
  finishedAt: Type.Optional(Type.String()),
  error: Type.Optional(ErrorInfoSchema),
});

export const DeadLetterBriefSchema = Type.Object({
  key: Type.String(),
  kind: Type.Union([Type.Literal('forward'), Type.Literal('notify')]),
  /** Absent while the effect is owed and not tried yet (the outbox). */
  error: Type.Optional(ErrorInfoSchema),
  createdAt: Type.String(),
});

/** `scheduled` is no ledger state: the task waits in its queue and never ran. */
export const TaskStateSchema = Type.Union([LineageStateSchema, Type.Literal('scheduled')]);

/** GET /v1/tasks/:id: the ledger record plus its dead letters. Other fields pass through. */
export const TaskStatusSchema = Type.Object(
  {
    id: Type.String(),
    type: Type.Optional(Type.String()),
    state: TaskStateSchema,
    /** For `scheduled`: when Cloud Tasks will push it (RFC 3339). */
    scheduleTime: Type.Optional(Type.String()),
    tier: Type.Integer(),
    queue: Type.Optional(Type.String()),
    attempts: Type.Record(Type.String(), Type.Integer()),
    maxAttempts: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    history: Type.Array(AttemptEntrySchema),
    error: Type.Optional(ErrorInfoSchema),
    result: Type.Optional(Type.Unknown()),
    outputRef: Type.Optional(Type.String()),
    dataRef: Type.Optional(Type.String()),
    notify: Type.Optional(Type.Object({ url: Type.Optional(Type.String()), topic: Type.Optional(Type.String()) })),
    /** The lineage this one replays (POST /v1/tasks/:id:replay). */
    replayOf: Type.Optional(Type.String()),
    /** Whether POST /v1/tasks/:id:replay can start it again once it ended. */
    replayable: Type.Optional(Type.Boolean()),
    /** The running job's latest setStatus()/status() text. */
    statusText: Type.Optional(Type.String()),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    finishedAt: Type.Optional(Type.String()),
    expiresAt: Type.Optional(Type.String()),
    deadLetters: Type.Optional(Type.Array(DeadLetterBriefSchema)),
  },
  { additionalProperties: true },
);
export type TaskStatus = Static<typeof TaskStatusSchema>;

/** One row of GET /v1/tasks. */
export const TaskSummarySchema = Type.Object({
  id: Type.String(),
  type: Type.Optional(Type.String()),
  state: LineageStateSchema,
  tier: Type.Integer(),
  queue: Type.Optional(Type.String()),
  /** Attempts over all tiers. */
  attempts: Type.Integer(),
  error: Type.Optional(ErrorInfoSchema),
  replayOf: Type.Optional(Type.String()),
  /** The job (SDK execute) this lineage is a task of. */
  job: Type.Optional(JobRefSchema),
  statusText: Type.Optional(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  finishedAt: Type.Optional(Type.String()),
});
export type TaskSummary = Static<typeof TaskSummarySchema>;

export const TaskListQuerySchema = Type.Object(
  {
    state: Type.Optional(LineageStateSchema),
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    queue: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    since: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    until: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    pageToken: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type TaskListQuery = Static<typeof TaskListQuerySchema>;

export const TaskListSchema = Type.Object({
  tasks: Type.Array(TaskSummarySchema),
  /** Pass as pageToken for the next (older) page; absent on the last page. */
  nextPageToken: Type.Optional(Type.String()),
});
export type TaskList = Static<typeof TaskListSchema>;

export const CancelReplySchema = Type.Object({
  id: Type.String(),
  state: Type.String(),
  /** A running attempt on this instance was aborted. */
  aborted: Type.Optional(Type.Boolean()),
  /** Queued tasks deleted, as `queue/task`. */
  deleted: Type.Array(Type.String()),
});
export type CancelReply = Static<typeof CancelReplySchema>;

export const ReplayReplySchema = Type.Object({
  /** The new lineage. */
  id: Type.String(),
  replayOf: Type.String(),
  queue: Type.String(),
  taskName: Type.String(),
});
export type ReplayReply = Static<typeof ReplayReplySchema>;

export const DeadLetterSummarySchema = Type.Object({
  key: Type.String(),
  lineageId: Type.String(),
  kind: Type.Union([Type.Literal('forward'), Type.Literal('notify')]),
  tier: Type.Optional(Type.Integer()),
  /** Absent while the effect is owed and not tried yet (the outbox). */
  error: Type.Optional(ErrorInfoSchema),
  createdAt: Type.String(),
});
export type DeadLetterSummary = Static<typeof DeadLetterSummarySchema>;

export const DeadLettersReplySchema = Type.Object({ deadLetters: Type.Array(DeadLetterSummarySchema) });

export const RedriveReplySchema = Type.Object({ redriven: Type.Integer(), failed: Type.Integer(), permanent: Type.Optional(Type.Integer()) });
export type RedriveReply = Static<typeof RedriveReplySchema>;

export const NotificationsReplySchema = Type.Object({ notifications: Type.Array(CloudEventSchema) });
export type NotificationsReply = Static<typeof NotificationsReplySchema>;

export const OperatorErrorSchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
  state: Type.Optional(Type.String()),
});

/** Server-Sent Events of GET /v1/tasks/:id/output?follow=1 (`event:` name, JSON `data:`). */
export const OutputEventSchema = Type.Union([
  Type.Object({ event: Type.Literal('attempt'), data: Type.Object({ tier: Type.Integer(), attempt: Type.Integer(), queue: Type.String() }) }),
  Type.Object({ event: Type.Literal('output'), data: Type.Object({ tier: Type.Integer(), attempt: Type.Integer(), text: Type.String() }) }),
  Type.Object({ event: Type.Literal('status'), data: Type.Object({ state: Type.String(), statusText: Type.Optional(Type.String()) }) }),
  Type.Object({ event: Type.Literal('end'), data: Type.Object({ state: Type.String() }) }),
]);
export type OutputEvent = Static<typeof OutputEventSchema>;
