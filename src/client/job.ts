// A job of many tasks (seed 000's client Job): built by the submitter, handed
// to Executor.execute, then read for its state and errors while it runs.
// States move forward only, in this order; the display text is the seed's.
import type { ErrorInfo, JobStatus, JobTaskStatus } from '../schemas/index.ts';
import { jobTaskId } from '../schemas/index.ts';
import { JOB_ID } from '../schemas/task-id.ts';
import { InvalidJobError } from './errors.ts';
import { newTaskId } from './task-id.ts';

export const JOB_STATES = ['Job Created', 'Task Data Uploading', 'Job Message Published', 'Running', 'Succeeded', 'Failed', 'Cancelled'] as const;
export type JobStateName = (typeof JOB_STATES)[number];

const TERMINAL: readonly JobStateName[] = ['Succeeded', 'Failed', 'Cancelled'];

export interface TaskSpec {
  /** Job type: a registry key on the worker. */
  type: string;
  args?: Record<string, unknown>;
  /** Inline payload (any JSON value); uploaded to the bucket when over the threshold or when the context says so. */
  data?: unknown;
  /** Display name (shown by `executor job ID`). */
  name?: string;
}

export interface JobInit {
  /** Job id; default a fresh random one. Task `i` runs as lineage `<id>-<i>`. */
  id?: string;
  tasks: TaskSpec[];
  notify?: { url?: string; topic?: string };
}

export class Task {
  /** Lineage id: `<job id>-<index>`. */
  readonly id: string;
  readonly index: number;
  readonly name: string | undefined;
  readonly type: string;
  args: Record<string, unknown> | undefined;
  readonly data: unknown;
  /** Last state the service reported (`pending` until a worker saw it). */
  state = 'pending';
  #errors: ErrorInfo[] = [];

  constructor(jobId: string, index: number, spec: TaskSpec) {
    this.id = jobTaskId(jobId, index);
    this.index = index;
    this.name = spec.name;
    this.type = spec.type;
    this.args = spec.args;
    this.data = spec.data;
  }

  /** Every attempt's error, oldest first, across tiers (from the ledger's history). */
  errors(): ErrorInfo[] {
    return [...this.#errors];
  }

  /** A label for messages: `task 7 ("resize")`. */
  get label(): string {
    return `task ${this.index}${this.name ? ` ("${this.name}")` : ''}`;
  }

  /** @internal Executor/JobResult only. */
  update(status: JobTaskStatus): void {
    this.state = status.state;
    this.#errors = status.errors;
  }
}

export class Job {
  readonly id: string;
  readonly tasks: Task[];
  readonly notify: JobInit['notify'];
  /** Every state the job went through, oldest first. */
  readonly states: JobStateName[] = ['Job Created'];
  /** The last GET /v1/jobs/:id answer. */
  status: JobStatus | undefined;

  constructor(spec: JobInit) {
    const id = spec.id ?? newTaskId();
    if (!JOB_ID.test(id)) throw new InvalidJobError(`job id "${id}" is not valid (letters, digits, - and _, at most 400)`);
    if (!Array.isArray(spec.tasks) || spec.tasks.length === 0) throw new InvalidJobError(`job ${id} has no tasks`);
    if (spec.tasks.length > 100_000) throw new InvalidJobError(`job ${id} has ${spec.tasks.length} tasks; at most 100000`);
    this.id = id;
    this.tasks = spec.tasks.map((t, i) => new Task(id, i, t));
    this.notify = spec.notify;
  }

  /** The display name of the current state: `Job Created`, ..., `Failed`, `Cancelled`. */
  currentState(): JobStateName {
    return this.states[this.states.length - 1]!;
  }

  /** True once at least one task failed for good. */
  hasErrors(): boolean {
    return this.tasks.some((t) => t.state === 'failed');
  }

  /** The tasks that failed for good, in job order. */
  tasksInError(): Task[] {
    return this.tasks.filter((t) => t.state === 'failed');
  }

  /** True when every task ended (succeeded, failed or cancelled). */
  ended(): boolean {
    return TERMINAL.includes(this.currentState());
  }

  /** @internal Move forward to `state` (never back; a terminal state is final). */
  advance(state: JobStateName): void {
    const current = this.currentState();
    if (TERMINAL.includes(current)) return;
    if (JOB_STATES.indexOf(state) <= JOB_STATES.indexOf(current)) return;
    // Passing through Running keeps the seed's order visible in `states`.
    if (TERMINAL.includes(state) && current !== 'Running' && state !== 'Cancelled') this.states.push('Running');
    this.states.push(state);
  }

  /** @internal Apply a GET /v1/jobs/:id answer. */
  update(status: JobStatus): void {
    this.status = status;
    const byId = new Map(status.tasks.map((t) => [t.id, t]));
    for (const task of this.tasks) {
      const s = byId.get(task.id);
      if (s) task.update(s);
    }
    const states = this.tasks.map((t) => t.state);
    const ended = states.filter((s) => s === 'succeeded' || s === 'failed' || s === 'cancelled').length;
    if (states.some((s) => s !== 'pending')) this.advance('Running');
    if (ended === this.tasks.length) {
      if (states.includes('failed')) this.advance('Failed');
      else if (states.includes('cancelled')) this.advance('Cancelled');
      else this.advance('Succeeded');
    }
  }
}
