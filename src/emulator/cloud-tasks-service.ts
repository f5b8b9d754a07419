// The Cloud Tasks v2 methods over in-memory state, independent of HTTP:
// routes translate REST to these calls, and errors are GoogleApiErrors.
import type { EmulatorClock } from './clock.ts';
import type { Dispatcher } from './dispatcher.ts';
import { alreadyExists, invalidArgument, notFound } from './google-error.ts';
import { applyQueueBody, defaultQueue, type QueueConfig } from './queue-model.ts';
import { QueueRuntime } from './queue-runtime.ts';
import { parseQueueName, queuePath, TASK_ID } from './resource-names.ts';
import { generateTaskId, taskFromCreate, type TaskRecord } from './task-model.ts';

export class CloudTasksService {
  readonly #queues = new Map<string, QueueRuntime>();
  readonly #clock: EmulatorClock;
  readonly #dispatcher: Dispatcher;
  readonly #tombstoneMs: number;

  constructor(opts: { clock: EmulatorClock; dispatcher: Dispatcher; tombstoneMs: number }) {
    this.#clock = opts.clock;
    this.#dispatcher = opts.dispatcher;
    this.#tombstoneMs = opts.tombstoneMs;
  }

  // ------------------------------------------------------------ queues

  queue(name: string): QueueRuntime {
    const q = this.#queues.get(name);
    if (!q) throw notFound(`Requested entity was not found. Queue ${name} does not exist.`);
    return q;
  }

  listQueues(parent: string): QueueConfig[] {
    return [...this.#queues.values()].filter((q) => q.config.name.startsWith(`${parent}/queues/`)).map((q) => q.config);
  }

  createQueue(parent: string, body: Record<string, unknown>): QueueConfig {
    const n = parseQueueName(body.name);
    const name = queuePath(n);
    if (!name.startsWith(`${parent}/queues/`)) throw invalidArgument(`Queue name ${name} is not in ${parent}`);
    if (this.#queues.has(name)) throw alreadyExists(`Queue already exists: ${name}`);
    const config = applyQueueBody(defaultQueue(name), body);
    this.#queues.set(name, new QueueRuntime(config, this.#clock.now()));
    return config;
  }

  /** UpdateQueue; a queue that does not exist yet is created (as Cloud Tasks does). */
  updateQueue(name: string, body: Record<string, unknown>, mask: string[] | undefined): QueueConfig {
    parseQueueName(name);
    if (body.name !== undefined && body.name !== name) throw invalidArgument(`Queue name in the body (${String(body.name)}) differs from the URL (${name})`);
    const existing = this.#queues.get(name);
    const config = applyQueueBody(existing?.config ?? defaultQueue(name), body, mask);
    if (existing) {
      existing.setConfig(config, this.#clock.now());
      this.#dispatcher.kick(existing);
    } else {
      this.#queues.set(name, new QueueRuntime(config, this.#clock.now()));
    }
    return config;
  }

  deleteQueue(name: string): void {
    const q = this.queue(name);
    q.deleted = true;
    this.#dispatcher.forget(q);
    this.#queues.delete(name);
  }

  setQueueState(name: string, state: 'RUNNING' | 'PAUSED'): QueueConfig {
    const q = this.queue(name);
    q.config = { ...q.config, state };
    this.#dispatcher.kick(q);
    return q.config;
  }

  purgeQueue(name: string): QueueConfig {
    const q = this.queue(name);
    const now = this.#clock.now();
    for (const id of [...q.tasks.keys()]) q.removeTask(id, now, this.#tombstoneMs);
    q.config = { ...q.config, purgeTime: now };
    this.#dispatcher.kick(q);
    return q.config;
  }

  // ------------------------------------------------------------ tasks

  createTask(queueName: string, rawTask: unknown): TaskRecord {
    const q = this.queue(queueName);
    const now = this.#clock.now();
    const spec = taskFromCreate(rawTask, queueName, now);
    let id = spec.id;
    if (id === undefined) {
      do id = generateTaskId();
      while (q.isNameTaken(id, now));
    } else if (q.isNameTaken(id, now)) {
      throw alreadyExists('The task cannot be created because a task with this name existed too recently. For more information about task de-duplication see https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks/create#body.request_body.FIELDS.task.');
    }
    const task: TaskRecord = { ...spec, id, name: `${queueName}/tasks/${id}` };
    q.tasks.set(id, task);
    this.#dispatcher.kick(q);
    return task;
  }

  task(queueName: string, taskId: string): { q: QueueRuntime; t: TaskRecord } {
    const q = this.queue(queueName);
    const t = TASK_ID.test(taskId) ? q.tasks.get(taskId) : undefined;
    if (!t) throw notFound(`Requested entity was not found. Task ${queueName}/tasks/${taskId} does not exist.`);
    return { q, t };
  }

  listTasks(queueName: string): TaskRecord[] {
    return [...this.queue(queueName).tasks.values()];
  }

  deleteTask(queueName: string, taskId: string): void {
    const { q } = this.task(queueName, taskId);
    q.removeTask(taskId, this.#clock.now(), this.#tombstoneMs);
    this.#dispatcher.kick(q);
  }

  runTask(queueName: string, taskId: string): TaskRecord {
    const { q, t } = this.task(queueName, taskId);
    this.#dispatcher.runNow(q, t);
    return t;
  }
}
