// GET /v1/tasks: the query string in, a ledger ListQuery out, and the page
// back as summaries with an opaque page token (the ledger's cursor).
import type { LineageRecord, ListCursor, ListPage, ListQuery } from '../interfaces.ts';
import type { TaskList, TaskListQuery, TaskSummary } from '../schemas/operator.ts';

export const DEFAULT_PAGE_SIZE = 50;

export class BadListQuery extends Error {
  readonly code = 'InvalidArgument';
  readonly permanent = true;
}

/** An ISO 8601 time (or epoch milliseconds) in the form createdAt is stored in. */
function isoTime(name: string, value: string): string {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new BadListQuery(`${name} "${value}" is not a time (ISO 8601, e.g. 2026-11-23T10:00:00Z)`);
  return new Date(ms).toISOString();
}

export function encodePageToken(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}

export function decodePageToken(token: string): ListCursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && typeof id === 'string') return { createdAt, id };
  } catch {
    // fall through
  }
  throw new BadListQuery('pageToken is not one this service returned');
}

export function toListQuery(q: TaskListQuery): ListQuery {
  return {
    pageSize: q.pageSize ?? DEFAULT_PAGE_SIZE,
    ...(q.state !== undefined ? { state: q.state } : {}),
    ...(q.type !== undefined ? { type: q.type } : {}),
    ...(q.queue !== undefined ? { queue: q.queue } : {}),
    ...(q.since !== undefined ? { since: isoTime('since', q.since) } : {}),
    ...(q.until !== undefined ? { until: isoTime('until', q.until) } : {}),
    ...(q.pageToken !== undefined ? { after: decodePageToken(q.pageToken) } : {}),
  };
}

export function toSummary(r: LineageRecord): TaskSummary {
  return {
    id: r.id,
    ...(r.type !== undefined ? { type: r.type } : {}),
    state: r.state,
    tier: r.tier,
    ...(r.queue !== undefined ? { queue: r.queue } : {}),
    attempts: Object.values(r.attempts ?? {}).reduce((a, b) => a + b, 0),
    ...(r.error ? { error: r.error } : {}),
    ...(r.replayOf !== undefined ? { replayOf: r.replayOf } : {}),
    ...(r.job !== undefined ? { job: r.job } : {}),
    ...(r.statusText !== undefined ? { statusText: r.statusText } : {}),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    ...(r.finishedAt !== undefined ? { finishedAt: r.finishedAt } : {}),
  };
}

export function toTaskList(page: ListPage): TaskList {
  return { tasks: page.records.map(toSummary), ...(page.next ? { nextPageToken: encodePageToken(page.next) } : {}) };
}
