// The Cloud Tasks v2 methods over in-memory state, independent of HTTP:
// routes translate REST to these calls, and errors are GoogleApiErrors.
import type { EmulatorClock } from './clock.ts';
import type { Dispatcher } from './dispatcher.ts';
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from './google-error.ts';
import { urlFromOverride } from './http-target.ts';
import { emptyPolicy, heldPermissions, nextPolicy, type Policy, policyToJson } from './iam-policy.ts';
import { applyQueueBody, defaultQueue, MAX_DISPATCHES_PER_SECOND, type QueueConfig } from './queue-model.ts';
import { QueueRuntime } from './queue-runtime.ts';
import { locationPath, parseQueueName, queuePath, TASK_ID } from './resource-names.ts';
import { generateTaskId, type TaskRecord, taskFromCreate } from './task-model.ts';

export interface CloudTasksServiceOptions {
  clock: EmulatorClock;
  dispatcher: Dispatcher;
  tombstoneMs: number;
  /** Where App Engine tasks go; without it creating one is FAILED_PRECONDITION. */
  appEngineUrl?: string;
  /** Listed by locations.list besides those that hold queues. */
  locations?: string[];
  /** Called after every change of state (persistence). */
  onChange?: () => void;
  /** The cap on a queue's maxDispatchesPerSecond (default Cloud Tasks' 500). */
  maxDispatchesPerSecond?: number;
}

/** What EMULATOR_STATE keeps: everything but in-flight pushes. */
export interface ServiceSnapshot {
  version: 1;
  queues: Array<{ config: QueueConfig; tasks: TaskRecord[]; tombstones: Array<[string, number]>; policy?: Policy }>;
  cmek: Array<[string, string]>;
}

const KMS_KEY = /^projects\/[^/]+\/locations\/([^/]+)\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;

export class CloudTasksService {
  readonly #queues = new Map<string, QueueRuntime>();
  readonly #policies = new Map<string, Policy>();
  /** Location name -> KMS key of its CmekConfig. */
  readonly #cmek = new Map<string, string>();
  readonly #clock: EmulatorClock;
  readonly #dispatcher: Dispatcher;
  readonly #tombstoneMs: number;
  readonly #appEngineUrl?: string;
  readonly #locations: string[];
  readonly #changed: () => void;
  readonly #maxRate: number;

  constructor(opts: CloudTasksServiceOptions) {
    this.#clock = opts.clock;
    this.#dispatcher = opts.dispatcher;
    this.#tombstoneMs = opts.tombstoneMs;
    this.#appEngineUrl = opts.appEngineUrl;
    this.#locations = opts.locations ?? [];
    this.#changed = opts.onChange ?? (() => {});
    this.#maxRate = opts.maxDispatchesPerSecond ?? MAX_DISPATCHES_PER_SECOND;
  }

  // ------------------------------------------------------------ state

  snapshot(): ServiceSnapshot {
    const now = this.#clock.now();
    for (const q of this.#queues.values()) q.expireTasks(now);
    return {
      version: 1,
      queues: [...this.#queues.values()].map((q) => ({
        config: q.config,
        tasks: [...q.tasks.values()].map((t) => ({ ...t, inFlight: 0 })),
        tombstones: [...q.tombstones.entries()],
        ...(this.#policies.has(q.config.name) ? { policy: this.#policies.get(q.config.name)! } : {}),
      })),
      cmek: [...this.#cmek.entries()],
    };
  }

  /** Load a snapshot into an empty service; a push that was out when it was taken is made again. */
  restore(s: ServiceSnapshot): void {
    if (s?.version !== 1 || !Array.isArray(s.queues)) throw new Error('expected {version: 1, queues: [...]}');
    const now = this.#clock.now();
    for (const saved of s.queues) {
      const q = new QueueRuntime({ ...defaultQueue(saved.config.name), ...saved.config }, now, this.#tombstoneMs);
      for (const t of saved.tasks) q.addTask({ ...t, inFlight: 0 });
      for (const [id, until] of saved.tombstones) if (until > now) q.tombstones.set(id, until);
      this.#queues.set(q.config.name, q);
      if (saved.policy) this.#policies.set(q.config.name, saved.policy);
      this.#dispatcher.kick(q);
    }
    for (const [loc, key] of s.cmek ?? []) this.#cmek.set(loc, key);
  }

  // ------------------------------------------------------------ queues

  /** The queue, its tasks past taskTtl deleted first (every method that reads or changes tasks comes through here). */
  queue(name: string): QueueRuntime {
    const q = this.#queues.get(name);
    if (!q) throw notFound(`Requested entity was not found. Queue ${name} does not exist.`);
    if (q.expireTasks(this.#clock.now()) > 0) this.#changed();
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
    const config = applyQueueBody(defaultQueue(name), body, undefined, true, this.#maxRate);
    this.#queues.set(name, new QueueRuntime(config, this.#clock.now(), this.#tombstoneMs));
    this.#changed();
    return config;
  }

  /** UpdateQueue; a queue that does not exist yet is created (as Cloud Tasks does). */
  updateQueue(name: string, body: Record<string, unknown>, mask: string[] | undefined): QueueConfig {
    parseQueueName(name);
    if (body.name !== undefined && body.name !== name) throw invalidArgument(`Queue name in the body (${String(body.name)}) differs from the URL (${name})`);
    const existing = this.#queues.get(name);
    const config = applyQueueBody(existing?.config ?? defaultQueue(name), body, mask, !existing, this.#maxRate);
    if (existing) {
      existing.setConfig(config, this.#clock.now());
      this.#dispatcher.kick(existing);
    } else {
      this.#queues.set(name, new QueueRuntime(config, this.#clock.now(), this.#tombstoneMs));
    }
    this.#changed();
    return config;
  }

  deleteQueue(name: string): void {
    const q = this.queue(name);
    q.deleted = true;
    this.#dispatcher.forget(q);
    this.#queues.delete(name);
    this.#policies.delete(name);
    this.#changed();
  }

  setQueueState(name: string, state: 'RUNNING' | 'PAUSED'): QueueConfig {
    const q = this.queue(name);
    q.config = { ...q.config, state };
    this.#dispatcher.kick(q);
    this.#changed();
    return q.config;
  }

  purgeQueue(name: string): QueueConfig {
    const q = this.queue(name);
    const now = this.#clock.now();
    for (const id of [...q.tasks.keys()]) q.removeTask(id, now);
    q.due.clear();
    q.config = { ...q.config, purgeTime: now };
    this.#dispatcher.kick(q);
    this.#changed();
    return q.config;
  }

  // ------------------------------------------------------------ tasks

  createTask(queueName: string, rawTask: unknown): TaskRecord {
    const q = this.queue(queueName);
    const now = this.#clock.now();
    const spec = taskFromCreate(rawTask, q.config, now, this.#appEngineUrl);
    let id = spec.id;
    if (id === undefined) {
      do id = generateTaskId();
      while (q.isNameTaken(id, now));
    } else if (q.isNameTaken(id, now)) {
      throw alreadyExists(
        'The task cannot be created because a task with this name existed too recently. For more information about task de-duplication see https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks/create#body.request_body.FIELDS.task.',
      );
    }
    const task: TaskRecord = { ...spec, id, name: `${queueName}/tasks/${id}` };
    q.addTask(task);
    this.#dispatcher.kick(q);
    this.#changed();
    return task;
  }

  /** BufferTask: a task made from the queue's httpTarget and an HttpBody. */
  bufferTask(queueName: string, taskId: string | undefined, body: { contentType?: string; data?: string } | undefined): TaskRecord {
    const q = this.queue(queueName);
    const url = urlFromOverride(q.config.httpTarget?.uriOverride);
    if (!url) throw failedPrecondition(`Queue ${queueName} has no HTTP target with a URI override host; BufferTask needs one.`);
    const headers: Record<string, string> = body?.contentType ? { 'Content-Type': body.contentType } : {};
    const method = q.config.httpTarget?.httpMethod ?? 'POST';
    const httpRequest: Record<string, unknown> = { url, httpMethod: method, headers };
    if (body?.data && (method === 'POST' || method === 'PUT' || method === 'PATCH')) httpRequest.body = body.data;
    return this.createTask(queueName, { ...(taskId ? { name: `${queueName}/tasks/${taskId}` } : {}), httpRequest });
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
    q.removeTask(taskId, this.#clock.now());
    this.#dispatcher.kick(q);
    this.#changed();
  }

  runTask(queueName: string, taskId: string): TaskRecord {
    const { q, t } = this.task(queueName, taskId);
    if (t.pullMessage) throw failedPrecondition('A pull task cannot be run: it is leased by a worker, not dispatched.');
    this.#dispatcher.runNow(q, t);
    this.#changed();
    return t;
  }

  // ------------------------------------------------------------ IAM, CMEK, locations

  getIamPolicy(queueName: string): Record<string, unknown> {
    this.queue(queueName);
    return policyToJson(this.#policies.get(queueName) ?? emptyPolicy());
  }

  setIamPolicy(queueName: string, policy: Record<string, unknown> | undefined): Record<string, unknown> {
    this.queue(queueName);
    const next = nextPolicy(this.#policies.get(queueName) ?? emptyPolicy(), policy);
    this.#policies.set(queueName, next);
    this.#changed();
    return policyToJson(next);
  }

  testIamPermissions(queueName: string, permissions: unknown): string[] {
    this.queue(queueName);
    return heldPermissions(permissions);
  }

  cmekConfig(location: string): { name: string; kmsKey?: string } {
    const key = this.#cmek.get(location);
    return { name: `${location}/cmekConfig`, ...(key ? { kmsKey: key } : {}) };
  }

  updateCmekConfig(location: string, body: { name?: string; kmsKey?: string }): { name: string; kmsKey?: string } {
    if (body.name && body.name !== `${location}/cmekConfig`)
      throw invalidArgument(`CmekConfig name ${body.name} differs from the URL (${location}/cmekConfig)`);
    const key = body.kmsKey ?? '';
    if (key === '') this.#cmek.delete(location);
    else {
      const m = KMS_KEY.exec(key);
      if (!m) throw invalidArgument(`Invalid KMS key name ${JSON.stringify(key)}: expected projects/P/locations/L/keyRings/R/cryptoKeys/K`);
      if (m[1] !== location.split('/')[3]) throw invalidArgument(`The KMS key must be in the queue location ${location.split('/')[3]}, not ${m[1]}.`);
      this.#cmek.set(location, key);
    }
    this.#changed();
    return this.cmekConfig(location);
  }

  /** The configured locations, us-central1 and every location that holds a queue of the project. */
  locations(project: string): string[] {
    const prefix = `projects/${project}/locations/`;
    const withQueues = [...this.#queues.keys()].filter((n) => n.startsWith(prefix)).map((n) => n.split('/')[3]!);
    return [...new Set([...this.#locations, 'us-central1', ...withQueues])].sort();
  }

  location(project: string, location: string): string {
    return locationPath(project, location);
  }
}
