// What Executor.execute returns (seed 000's `result := exe.Execute(job)`):
// `error` set when the job could not be submitted (nothing of it runs);
// otherwise watch() follows every task until the job ended.

import { JobFailedError, JobWatchTimeoutError } from './errors.ts';
import type { Job } from './job.ts';
import type { OperatorClient } from './operator-client.ts';
import { type PollOptions, pollUntil } from './poll.ts';

/** intervalMs: between polls of GET /v1/jobs/:id; timeoutMs: give up with JobWatchTimeoutError. */
export interface JobWatchOptions extends PollOptions {
  /** Called after each poll that changed the job's state. */
  onState?: (job: Job) => void;
}

export class JobResult {
  readonly job: Job;
  /** Set when submitting failed; watch() then rejects with it. */
  readonly error: Error | undefined;
  readonly #operator: OperatorClient;

  constructor(job: Job, operator: OperatorClient, error?: Error) {
    this.job = job;
    this.#operator = operator;
    this.error = error;
  }

  /** Poll the service once and update the job (its state, each task's state and errors). */
  async refresh(): Promise<Job> {
    const status = await this.#operator.job(this.job.id, this.job.tasks.length);
    if (status) this.job.update(status);
    return this.job;
  }

  /**
   * Resolves with the job when every task succeeded; rejects with
   * JobFailedError (`tasksInError`) when one failed or the job was cancelled,
   * JobWatchTimeoutError, the signal's reason, or the submission error.
   */
  async watch(opts: JobWatchOptions = {}): Promise<Job> {
    if (this.error) throw this.error;
    let seen = this.job.states.length;
    return pollUntil(
      opts,
      async () => {
        if (!this.job.ended()) await this.refresh();
        if (this.job.states.length !== seen) {
          seen = this.job.states.length;
          opts.onState?.(this.job);
        }
        if (!this.job.ended()) return undefined;
        if (this.job.currentState() === 'Succeeded') return this.job;
        throw new JobFailedError(this.job);
      },
      () => new JobWatchTimeoutError(this.job, opts.timeoutMs!),
    );
  }
}
