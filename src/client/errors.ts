// Errors of the submitter SDK. Each has a stable `name` and `code` to branch on
// (STYLE §6); messages are for people.
import type { LineageRecord } from '../interfaces.ts';
import type { Job, Task } from './job.ts';

/** The job could not be turned into a valid envelope (bad type, id, args or time). */
export class InvalidJobError extends Error {
  override name = 'InvalidJobError';
  readonly code = 'InvalidJob';
}

/** The operator API answered with an error status (404 not found, 409 already ended, ...). */
export class OperatorError extends Error {
  override name = 'OperatorError';
  readonly code: string;
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, code: string, message: string, body?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** Result.watch(): the lineage ended failed or cancelled. The record says how. */
export class TaskFailedError extends Error {
  override name = 'TaskFailedError';
  readonly code: 'TaskFailed' | 'TaskCancelled';
  readonly record: LineageRecord;
  constructor(record: LineageRecord) {
    const why = record.error ? `: ${record.error.code}: ${record.error.message}` : '';
    super(`task ${record.id} ${record.state}${why}`);
    this.record = record;
    this.code = record.state === 'cancelled' ? 'TaskCancelled' : 'TaskFailed';
  }
}

/** Result.watch() gave up after timeoutMs; the task may still end later. */
export class WatchTimeoutError extends Error {
  override name = 'WatchTimeoutError';
  readonly code = 'WatchTimeout';
  /** The last record seen, if the service knew the lineage by then. */
  readonly record: LineageRecord | undefined;
  constructor(id: string, timeoutMs: number, record: LineageRecord | undefined) {
    super(`task ${id} had not ended after ${timeoutMs} ms (last state: ${record?.state ?? 'not started'})`);
    this.record = record;
  }
}

/** JobResult.watch(): the job ended with tasks in error, or was cancelled. */
export class JobFailedError extends Error {
  override name = 'JobFailedError';
  readonly code: 'JobFailed' | 'JobCancelled';
  /** The tasks that failed for good (their `errors()` say why). */
  readonly tasksInError: Task[];
  readonly job: Job;
  constructor(job: Job) {
    const failed = job.tasksInError();
    const cancelled = job.currentState() === 'Cancelled';
    const first = failed[0]?.errors().at(-1);
    super(
      cancelled
        ? `job ${job.id} was cancelled`
        : `job ${job.id} failed: ${failed.length} of ${job.tasks.length} tasks in error (${failed
            .slice(0, 5)
            .map((t) => t.label)
            .join(', ')}${failed.length > 5 ? ', ...' : ''})${first ? `; first: ${first.code}: ${first.message}` : ''}`,
    );
    this.code = cancelled ? 'JobCancelled' : 'JobFailed';
    this.tasksInError = failed;
    this.job = job;
  }
}

/** JobResult.watch() gave up after timeoutMs; the job may still end later. */
export class JobWatchTimeoutError extends Error {
  override name = 'JobWatchTimeoutError';
  readonly code = 'WatchTimeout';
  constructor(job: Job, timeoutMs: number) {
    super(`job ${job.id} had not ended after ${timeoutMs} ms (state: ${job.currentState()})`);
  }
}
