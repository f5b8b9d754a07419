// Notifications: CloudEvents 1.0, structured JSON (DESIGN §2).
import { type Static, Type } from '@sinclair/typebox';
import { ErrorInfoSchema, LabelsSchema } from './envelope.ts';

export const EVENT_TYPES = {
  succeeded: 'executor.task.succeeded',
  failed: 'executor.task.failed',
  forwarded: 'executor.task.forwarded',
  cancelled: 'executor.task.cancelled',
} as const;
export type EventKind = keyof typeof EVENT_TYPES;
export type EventType = (typeof EVENT_TYPES)[EventKind];

export const NotificationDataSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  queue: Type.String(),
  tier: Type.Integer(),
  attempt: Type.Integer(),
  maxAttempts: Type.Union([Type.Integer(), Type.Null()]),
  state: Type.String(),
  error: Type.Optional(ErrorInfoSchema),
  result: Type.Optional(Type.Unknown()),
  /** Set on executor.task.forwarded: where the lineage continues. */
  nextQueue: Type.Optional(Type.String()),
  /** The submitter's labels (envelope `labels`). */
  labels: Type.Optional(LabelsSchema),
  startedAt: Type.String(),
  finishedAt: Type.String(),
});
export type NotificationData = Static<typeof NotificationDataSchema>;

export const CloudEventSchema = Type.Object({
  specversion: Type.Literal('1.0'),
  /** `<lineage id>/<event>`; stable so receivers can drop duplicates. */
  id: Type.String(),
  source: Type.String(),
  type: Type.String(),
  time: Type.String(),
  subject: Type.String(),
  datacontenttype: Type.Literal('application/json'),
  data: NotificationDataSchema,
});
export type CloudEvent = Static<typeof CloudEventSchema>;
