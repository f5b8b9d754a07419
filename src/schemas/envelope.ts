// The task envelope, version 1 (DESIGN §2). Shared by the worker routes, the
// forwarder, the submitter SDK and the CLI.
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { MAX_JOB_ID, TaskIdString } from './task-id.ts';

export const ErrorInfoSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  permanent: Type.Boolean(),
});
export type ErrorInfo = Static<typeof ErrorInfoSchema>;

export const NotifySchema = Type.Object(
  {
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    topic: Type.Optional(Type.String({ maxLength: 512, pattern: '^projects/[^/]+/topics/[^/]+$' })),
  },
  { additionalProperties: false },
);

export const HistoryEntrySchema = Type.Object({
  tier: Type.Integer({ minimum: 0 }),
  attempt: Type.Integer({ minimum: 0 }),
  queue: Type.String({ maxLength: 500 }),
  taskName: Type.String({ maxLength: 500 }),
  outcome: Type.String({ maxLength: 64 }),
  startedAt: Type.String({ maxLength: 64 }),
  finishedAt: Type.Optional(Type.String({ maxLength: 64 })),
  error: Type.Optional(ErrorInfoSchema),
});

export const JobRefSchema = Type.Object({
  id: TaskIdString(MAX_JOB_ID),
  /** Number of tasks in the job. */
  size: Type.Integer({ minimum: 1, maximum: 100000 }),
  /** 0-based position of this task in the job. */
  index: Type.Integer({ minimum: 0, maximum: 99999 }),
  /** The task's display name. */
  name: Type.Optional(Type.String({ maxLength: 200 })),
});
export type JobRef = Static<typeof JobRefSchema>;

export const LabelsSchema = Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,62}$' }), Type.String({ maxLength: 63 }), { maxProperties: 64 });

export const TaskEnvelopeSchema = Type.Object(
  {
    /** Lineage id; stable across tiers. Default: the first task's name. */
    id: Type.Optional(TaskIdString()),
    type: Type.String({ minLength: 1, maxLength: 200 }),
    args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    data: Type.Optional(Type.Unknown()),
    dataRef: Type.Optional(Type.String({ maxLength: 4096, pattern: '^(gs|file)://' })),
    notify: Type.Optional(NotifySchema),
    tier: Type.Optional(Type.Integer({ minimum: 0 })),
    history: Type.Optional(Type.Array(HistoryEntrySchema, { maxItems: 1000 })),
    /** Set by POST /v1/tasks/:id:replay: the lineage this one replays. */
    replayOf: Type.Optional(TaskIdString()),
    /** The job this task belongs to (SDK execute): lineage id is `${job.id}-${job.index}`. */
    job: Type.Optional(JobRefSchema),
    /** Submitter's labels (seed 000 context: namespace, business); carried into notifications and logs. */
    labels: Type.Optional(LabelsSchema),
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
    const notifyProblem = env.notify ? checkNotifyTarget(env.notify) : undefined;
    if (notifyProblem) return { ok: false, reason: notifyProblem };
    return { ok: true, envelope: env };
  }
  const first = TaskEnvelopeCheck.Errors(value).First();
  // The path quotes keys from input: kept short (the caller bounds the whole reason too).
  const path = first?.path ? first.path : '/';
  const where = path.length > 200 ? `${path.slice(0, 200)}…` : path;
  return { ok: false, reason: `envelope invalid at ${where}: ${first?.message ?? 'not an object'}` };
}

/** Longest callback URL accepted (what browsers and most proxies take). */
export const MAX_NOTIFY_URL = 2083;

/**
 * A notify target that could never be used is refused at intake: otherwise
 * the task succeeds and its notification is a dead letter forever.
 */
export function checkNotifyTarget(notify: { url?: string; topic?: string }): string | undefined {
  if (notify.url !== undefined) {
    if (notify.url.length > MAX_NOTIFY_URL) return `notify.url is longer than ${MAX_NOTIFY_URL} characters`;
    let u: URL;
    try {
      u = new URL(notify.url);
    } catch {
      return 'notify.url is not a URL';
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return `notify.url must be http(s), got ${u.protocol.replace(/:$/, '')}`;
  }
  if (notify.topic !== undefined && !/^projects\/[^/]+\/topics\/[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/.test(notify.topic)) {
    return 'notify.topic must be projects/PROJECT/topics/TOPIC';
  }
  return undefined;
}
