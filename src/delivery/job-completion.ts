// Jobs of many tasks (DESIGN §8): when a lineage that is a task of a job ends,
// count it in the job record; the caller whose count ends the job's last task
// sends the one `executor.job.completed` event (id `<job>/completed`). The
// ledger makes "exactly once" hold across instances; a failed send is kept as
// a dead letter of the lineage, replayed like any other notification.
import type { Logger } from 'pino';
import type { AttemptLedger, Clock, CloudEvent, JobRecord, LineageRecord, Notifier } from '../interfaces.ts';
import { ENDED_STATES } from '../interfaces.ts';
import { toErrorInfo } from '../jobs/errors.ts';
import { JOB_COMPLETED_TYPE, type JobCompletedData, type JobTaskEndState } from '../schemas/index.ts';

export interface JobCompletionDeps {
  ledger: AttemptLedger;
  notifier: Notifier;
  clock: Clock;
  /** CloudEvents `source`. */
  source: string;
}

export interface JobCompletion {
  /** Count an ended lineage in its job (no-op for a lineage outside a job or not ended). */
  lineageEnded(record: LineageRecord, log: Logger): Promise<void>;
}

export function jobCompletedEvent(job: JobRecord, source: string): CloudEvent {
  const tasksInError = Object.entries(job.ended)
    .filter(([, e]) => e.state === 'failed')
    .map(([id]) => id)
    .sort(byTaskIndex);
  const data: JobCompletedData = {
    id: job.id,
    size: job.size,
    counts: job.counts,
    tasksInError,
    ...(job.labels ? { labels: job.labels } : {}),
    completedAt: job.completedAt ?? job.updatedAt,
  };
  // The notifiers carry any JSON data; the task-event type is the common case.
  return {
    specversion: '1.0',
    id: `${job.id}/completed`,
    source,
    type: JOB_COMPLETED_TYPE,
    time: data.completedAt,
    subject: job.id,
    datacontenttype: 'application/json',
    data: data as unknown as CloudEvent['data'],
  };
}

/** `job-10` after `job-9`: ids end in the task's index. */
function byTaskIndex(a: string, b: string): number {
  const n = (s: string) => Number(/-(\d+)$/.exec(s)?.[1] ?? 0);
  return n(a) - n(b) || a.localeCompare(b);
}

export function createJobCompletion(deps: JobCompletionDeps): JobCompletion {
  async function count(
    jobId: string,
    size: number,
    lineage: string,
    state: JobTaskEndState,
    extra: Pick<LineageRecord, 'error' | 'labels' | 'notify'>,
    log: Logger,
  ): Promise<void> {
    const now = deps.clock.now();
    const { record, completed } = await deps.ledger.jobTaskEnded({
      job: jobId,
      size,
      lineage,
      state,
      ...(extra.error && state !== 'succeeded' ? { error: extra.error } : {}),
      ...(extra.labels ? { labels: extra.labels } : {}),
      now,
    });
    if (!completed) return;
    const event = jobCompletedEvent(record, deps.source);
    const target = extra.notify ?? {};
    try {
      await deps.notifier.send(event, target);
      log.info({ job: jobId, counts: record.counts }, 'job completed');
    } catch (err) {
      const error = toErrorInfo(err);
      log.error({ err: { code: error.code, message: error.message }, event: event.id }, 'job completion notification failed; kept as a dead letter');
      await deps.ledger.putDeadLetter({
        key: `${lineage}/notify/job-completed`,
        lineageId: lineage,
        kind: 'notify',
        event,
        target,
        error,
        createdAt: new Date(now).toISOString(),
      });
    }
  }

  return {
    async lineageEnded(record, log) {
      if (!record.job || !ENDED_STATES.includes(record.state)) return;
      await count(record.job.id, record.job.size, record.id, record.state as JobTaskEndState, record, log);
    },
  };
}
