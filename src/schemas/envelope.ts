// The task envelope, version 1 (DESIGN §2). Shared by the worker routes, the
// forwarder, the submitter SDK and the CLI.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

export const ErrorInfoSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  permanent: Type.Boolean(),
});
export type ErrorInfo = Static<typeof ErrorInfoSchema>;

export const NotifySchema = Type.Object(
  {
    url: Type.Optional(Type.String({ minLength: 1 })),
    topic: Type.Optional(Type.String({ pattern: '^projects/[^/]+/topics/[^/]+$' })),
  },
  { additionalProperties: false },
);

export const HistoryEntrySchema = Type.Object({
  tier: Type.Integer({ minimum: 0 }),
  attempt: Type.Integer({ minimum: 0 }),
  queue: Type.String(),
  taskName: Type.String(),
  outcome: Type.String(),
  startedAt: Type.String(),
  finishedAt: Type.Optional(Type.String()),
  error: Type.Optional(ErrorInfoSchema),
});

export const TaskEnvelopeSchema = Type.Object(
  {
    /** Lineage id; stable across tiers. Default: the first task's name. */
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 500, pattern: '^[A-Za-z0-9_-]+$' })),
    type: Type.String({ minLength: 1, maxLength: 200 }),
    args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    data: Type.Optional(Type.Unknown()),
    dataRef: Type.Optional(Type.String({ pattern: '^(gs|file)://' })),
    notify: Type.Optional(NotifySchema),
    tier: Type.Optional(Type.Integer({ minimum: 0 })),
    history: Type.Optional(Type.Array(HistoryEntrySchema)),
    /** Set by POST /v1/tasks/:id:replay: the lineage this one replays. */
    replayOf: Type.Optional(Type.String({ minLength: 1, maxLength: 500, pattern: '^[A-Za-z0-9_-]+$' })),
  },
  { additionalProperties: true },
);
export type TaskEnvelope = Static<typeof TaskEnvelopeSchema>;

export const TaskEnvelopeCheck = TypeCompiler.Compile(TaskEnvelopeSchema);

/** Validate an unknown value; returns the envelope or a one-line reason. */
export function checkEnvelope(value: unknown): { ok: true; envelope: TaskEnvelope } | { ok: false; reason: string } {
  if (TaskEnvelopeCheck.Check(value)) {
    const env = value as TaskEnvelope;
    if (env.data !== undefined && env.dataRef !== undefined) {
      return { ok: false, reason: 'envelope has both data and dataRef' };
    }
    return { ok: true, envelope: env };
  }
  const first = TaskEnvelopeCheck.Errors(value).First();
  const where = first?.path ? first.path : '/';
  return { ok: false, reason: `envelope invalid at ${where}: ${first?.message ?? 'not an object'}` };
}
