// The submitter SDK (seed 000's executor client, for Cloud Tasks):
//   const exe = new Executor({ project, location, serviceUrl });
//   const result = await exe.enqueue({ type: 'echo', data: { hello: 'world' } });
//   if (!result.error) await result.watch();      // TaskFailedError when it failed
//   await exe.cancel(result.id);
// enqueue builds the DESIGN §2 envelope, offloads a large payload to the blob
// store, and creates the Cloud Task under the lineage id, so status and cancel
// find it by that id. Status, output and cancel go through the /v1 operator API.
import type { BlobStore, TaskEnvelope, TaskQueue } from '../interfaces.ts';
import { checkEnvelope } from '../schemas/index.ts';
import { createCloudTasksQueue } from '../queues/cloud-tasks-queue.ts';
import { maybeOffload, OFFLOAD_THRESHOLD_BYTES } from '../blobs/index.ts';
import { InvalidJobError } from './errors.ts';
import { OperatorClient, type CancelOutcome, type IdTokenSource, type TaskStatus } from './operator-client.ts';
import { Result } from './result.ts';
import { newTaskId, TASK_ID } from './task-id.ts';

export interface ExecutorOptions {
  project: string;
  location: string;
  /** Queue of the first tier; default `incoming` (the default CHAIN). */
  queue?: string;
  /** The service's base URL: push target is `${serviceUrl}/tasks`, and the operator API lives here. */
  serviceUrl: string;
  /** Push target when it is not `${serviceUrl}/tasks` (a CHAIN tier with its own @url). */
  pushUrl?: string;
  /** A ready TaskQueue (not closed by close()); default: Cloud Tasks, owned and closed by close(). */
  taskQueue?: TaskQueue;
  /** `host:port` of the Cloud Tasks emulator when no taskQueue is given. */
  emulatorHost?: string;
  /** Where payloads over the threshold go (not closed by close()); without one they stay inline. */
  blobs?: BlobStore;
  /** Default 512 KiB (Cloud Tasks caps a task at 1 MiB). */
  offloadThresholdBytes?: number;
  /** Put an OIDC token for this service account on created tasks (audience: the push URL). */
  oidc?: { serviceAccountEmail: string; audience?: string };
  /** dispatchDeadline of created tasks, seconds (see dispatchDeadlineFor in app.ts). */
  dispatchDeadlineSeconds?: number;
  /** How operator calls authenticate; `oidc` sends a Google ID token. Default `none`. */
  auth?: 'oidc' | 'none';
  /** Audience of that ID token; default serviceUrl. */
  idTokenAudience?: string;
  /** Custom ID token source (default google-auth-library's getIdTokenClient). */
  idToken?: IdTokenSource;
  fetch?: typeof fetch;
}

export interface JobSpec {
  /** Job type: a registry key on the worker. */
  type: string;
  args?: Record<string, unknown>;
  /** Inline payload (any JSON value); offloaded as dataRef when over the threshold. */
  data?: unknown;
  /** Lineage id = task name; default a fresh random id. */
  id?: string;
  notify?: { url?: string; topic?: string };
  /** Run no earlier than this (at most 30 days ahead). */
  scheduleTime?: Date | string;
  /** Queue for this task instead of the executor's. */
  queue?: string;
}

export class Executor {
  readonly project: string;
  readonly location: string;
  readonly queue: string;
  readonly pushUrl: string;
  readonly operator: OperatorClient;
  readonly #tasks: TaskQueue;
  readonly #ownsTasks: boolean;
  readonly #blobs: BlobStore | undefined;
  readonly #threshold: number;
  readonly #oidc: ExecutorOptions['oidc'];
  readonly #deadline: number | undefined;

  constructor(opts: ExecutorOptions) {
    if (!opts.serviceUrl) throw new InvalidJobError('serviceUrl is required');
    this.project = opts.project;
    this.location = opts.location;
    this.queue = opts.queue ?? 'incoming';
    this.pushUrl = opts.pushUrl ?? `${opts.serviceUrl.replace(/\/+$/, '')}/tasks`;
    this.operator = new OperatorClient({
      serviceUrl: opts.serviceUrl,
      ...(opts.auth ? { auth: opts.auth } : {}),
      ...(opts.idTokenAudience ? { idTokenAudience: opts.idTokenAudience } : {}),
      ...(opts.idToken ? { idToken: opts.idToken } : {}),
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    });
    this.#ownsTasks = !opts.taskQueue;
    this.#tasks =
      opts.taskQueue ??
      createCloudTasksQueue({ project: opts.project, location: opts.location, ...(opts.emulatorHost ? { emulatorHost: opts.emulatorHost } : {}) });
    this.#blobs = opts.blobs;
    this.#threshold = opts.offloadThresholdBytes ?? OFFLOAD_THRESHOLD_BYTES;
    this.#oidc = opts.oidc;
    this.#deadline = opts.dispatchDeadlineSeconds;
  }

  /**
   * Submit a job. Never rejects: a job that cannot be submitted comes back as
   * a Result whose `error` is set (InvalidJobError for a bad job, the Cloud
   * Tasks error otherwise), as seed 000's Execute does.
   */
  async enqueue(job: JobSpec): Promise<Result> {
    const id = job.id ?? newTaskId();
    const queue = job.queue ?? this.queue;
    let dataRef: string | undefined;
    try {
      if (!TASK_ID.test(id)) throw new InvalidJobError(`id "${id}" is not a valid task name (letters, digits, - and _, at most 500)`);
      const scheduleTime = parseScheduleTime(job.scheduleTime);
      const envelope: TaskEnvelope = {
        id,
        type: job.type,
        ...(job.args !== undefined ? { args: job.args } : {}),
        ...(job.notify !== undefined ? { notify: job.notify } : {}),
      };
      const checked = checkEnvelope(envelope);
      if (!checked.ok) throw new InvalidJobError(checked.reason);
      if (job.data !== undefined) {
        const payload = await maybeOffload(this.#blobs, `payloads/${id}.json`, job.data, this.#threshold);
        if ('dataRef' in payload) {
          dataRef = payload.dataRef;
          envelope.dataRef = dataRef;
        } else envelope.data = payload.data;
      }
      const created = await this.#tasks.createTask({
        queue,
        taskName: id,
        url: this.pushUrl,
        body: Buffer.from(JSON.stringify(envelope)),
        headers: { 'Content-Type': 'application/json' },
        ...(this.#oidc ? { oidc: this.#oidc } : {}),
        ...(scheduleTime ? { scheduleTime } : {}),
        ...(this.#deadline !== undefined ? { dispatchDeadlineSeconds: this.#deadline } : {}),
      });
      return new Result({
        id,
        operator: this.operator,
        queue,
        taskName: created.name,
        alreadyExisted: created.alreadyExisted,
        ...(dataRef ? { dataRef } : {}),
      });
    } catch (err) {
      // The task was not created: the offloaded payload has no reader.
      if (dataRef) await this.#blobs?.delete(dataRef).catch(() => {});
      return new Result({ id, operator: this.operator, queue, error: err as Error });
    }
  }

  /** The lineage's record; undefined when the service has not seen it (yet). */
  status(id: string | Result): Promise<TaskStatus | undefined> {
    return this.operator.status(idOf(id));
  }

  /** The job's output; undefined when it has none (yet). */
  output(id: string | Result): Promise<unknown> {
    return this.operator.output(idOf(id));
  }

  /** Cancel the lineage: a queued task is deleted, a running attempt aborted. OperatorError 404/409 otherwise. */
  cancel(id: string | Result): Promise<CancelOutcome> {
    return this.operator.cancel(idOf(id));
  }

  /** Close the Cloud Tasks client this executor created (a given taskQueue and blobs stay open). */
  async close(): Promise<void> {
    if (this.#ownsTasks) await this.#tasks.close();
  }
}

function idOf(id: string | Result): string {
  return typeof id === 'string' ? id : id.id;
}

function parseScheduleTime(value: Date | string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(d.getTime())) throw new InvalidJobError(`scheduleTime "${String(value)}" is not a time (RFC 3339, e.g. 2030-01-02T03:04:05Z)`);
  return d;
}
