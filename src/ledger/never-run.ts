import type { LineageRecord } from '../interfaces.ts';

/** The record of a lineage cancelled before its first delivery: no attempts, ended now. */
export function cancelledBeforeRun(id: string, nowMs: number, ttlMs: number, neverRun: { queue: string; type?: string }): LineageRecord {
  const now = new Date(nowMs).toISOString();
  return {
    id,
    ...(neverRun.type !== undefined ? { type: neverRun.type } : {}),
    state: 'cancelled',
    tier: 0,
    queue: neverRun.queue,
    attempts: {},
    history: [],
    createdAt: now,
    updatedAt: now,
    finishedAt: now,
    expiresAt: new Date(nowMs + ttlMs).toISOString(),
  };
}
