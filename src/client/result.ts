// What Executor.enqueue returns (seed 000's Execute -> result): `error` set
// when the task could not be submitted; otherwise watch() follows the lineage
// through every tier until it ends.
import { ENDED_STATES, type LineageRecord } from '../interfaces.ts';
import { TaskFailedError, WatchTimeoutError } from './errors.ts';
import type { OperatorClient, TaskStatus } from './operator-client.ts';
import { type PollOptions, pollUntil } from './poll.ts';

/** intervalMs: between status polls; timeoutMs: give up with WatchTimeoutError. */
export interface WatchOptions extends PollOptions {
  /** Called with each record that differs from the previous one (state, tier or attempts). */
  onProgress?: (record: TaskStatus) => void;
}

export interface ResultInit {
  id: string;
  operator: OperatorClient;
  /** Queue the first task went to. */
  queue?: string;
  /** Full Cloud Tasks resource name of the first task. */
  taskName?: string;
  /** The task name already existed: an earlier enqueue of the same id won. */
  alreadyExisted?: boolean;
  /** The offloaded payload's reference, when the data went to the blob store. */
  dataRef?: string;
  error?: Error;
}

export class Result {
  /** Lineage id (= the first task's name). */
  readonly id: string;
  readonly queue: string | undefined;
  readonly taskName: string | undefined;
  readonly alreadyExisted: boolean;
  readonly dataRef: string | undefined;
  /** Set when submitting failed; watch() then rejects with it. */
  readonly error: Error | undefined;
  readonly #operator: OperatorClient;

  constructor(init: ResultInit) {
    this.id = init.id;
    this.queue = init.queue;
    this.taskName = init.taskName;
    this.alreadyExisted = init.alreadyExisted ?? false;
    this.dataRef = init.dataRef;
    this.error = init.error;
    this.#operator = init.operator;
  }

  /** The lineage's record now; undefined until the worker has seen the first push. */
  status(): Promise<TaskStatus | undefined> {
    return this.#operator.status(this.id);
  }

  /**
   * Poll until the lineage ended. Resolves with the record when it succeeded;
   * rejects with TaskFailedError (failed or cancelled; `.record` says how),
   * WatchTimeoutError, the signal's reason, or the submission error.
   * 'forwarded' is not an end: the lineage continues in the next tier.
   */
  async watch(opts: WatchOptions = {}): Promise<TaskStatus> {
    if (this.error) throw this.error;
    let last: TaskStatus | undefined;
    let lastKey = '';
    return pollUntil(
      opts,
      async () => {
        const record = await this.#operator.status(this.id);
        if (!record) return undefined;
        last = record;
        const key = `${record.state}/${record.tier}/${JSON.stringify(record.attempts)}/${record.statusText ?? ''}`;
        if (key !== lastKey) {
          lastKey = key;
          opts.onProgress?.(record);
        }
        if (!(ENDED_STATES as readonly string[]).includes(record.state)) return undefined;
        if (record.state === 'succeeded') return record;
        throw new TaskFailedError(record as LineageRecord);
      },
      () => new WatchTimeoutError(this.id, opts.timeoutMs!, last as LineageRecord | undefined),
    );
  }
}
