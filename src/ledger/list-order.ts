import type { LineageRecord, ListCursor, ListQuery } from '../interfaces.ts';

/** The list order of every backend: newest createdAt first, then id descending. */
export function newestFirst(a: { createdAt: string; id: string }, b: { createdAt: string; id: string }): number {
  return b.createdAt.localeCompare(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Whether `record` comes after `cursor` in the list order. */
export function isAfter(record: LineageRecord, cursor: ListCursor): boolean {
  return newestFirst(cursor, record) < 0;
}

/** The filters of a ListQuery as a predicate (the memory ledger's query). */
export function matchesQuery(record: LineageRecord, q: ListQuery): boolean {
  if (q.state !== undefined && record.state !== q.state) return false;
  if (q.type !== undefined && record.type !== q.type) return false;
  if (q.queue !== undefined && record.queue !== q.queue) return false;
  if (q.since !== undefined && record.createdAt < q.since) return false;
  if (q.until !== undefined && record.createdAt >= q.until) return false;
  if (q.after !== undefined && !isAfter(record, q.after)) return false;
  return true;
}
