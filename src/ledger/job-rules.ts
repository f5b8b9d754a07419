// The job record's semantics as one pure function, shared by both ledgers
// (like lineage-rules.ts): each backend reads the record, applies it and
// writes the result atomically.
import type { JobRecord, JobTaskEndInput } from '../interfaces.ts';

export interface JobTaskEndResult {
  /** undefined: nothing to write (this lineage's end was already counted). */
  write?: JobRecord;
  record: JobRecord;
  /** This write ended the job's last task. */
  completed: boolean;
}

export function applyJobTaskEnd(current: JobRecord | undefined, input: JobTaskEndInput, ttlMs: number): JobTaskEndResult {
  const now = new Date(input.now).toISOString();
  const base: JobRecord = current ?? {
    id: input.job,
    size: input.size,
    ended: {},
    counts: { succeeded: 0, failed: 0, cancelled: 0 },
    ...(input.labels ? { labels: input.labels } : {}),
    createdAt: now,
    updatedAt: now,
  };
  if (base.ended[input.lineage] !== undefined) return { record: base, completed: false };
  const record: JobRecord = {
    ...base,
    ended: { ...base.ended, [input.lineage]: { state: input.state, ...(input.error ? { error: input.error } : {}) } },
    counts: { ...base.counts, [input.state]: base.counts[input.state] + 1 },
    updatedAt: now,
  };
  const completed = record.completedAt === undefined && Object.keys(record.ended).length >= record.size;
  if (completed) {
    record.completedAt = now;
    record.expiresAt = new Date(input.now + ttlMs).toISOString();
  }
  return { write: record, record, completed };
}
