// The submitter SDK (seed 000's executor client, for Cloud Tasks):
//   const exe = new Executor({ project, location, serviceUrl });
//   const result = await exe.enqueue({ type: 'echo', data: { hello: 'world' } });
//   if (!result.error) await result.watch();      // TaskFailedError when it failed
//   await exe.cancel(result.id);
// enqueue builds the DESIGN §2 envelope, offloads a large payload to the blob
// store, and creates the Cloud Task under the lineage id, so status and cancel
// find it by that id. Status, output and cancel go through the /v1 operator API.
import type { PubSub } from '@google-cloud/pubsub';
import { emulatorClientOptions } from '../auth/google-credentials.ts';
import { createGcsBlobStore } from '../blobs/gcs-blob-store.ts';
import { maybeOffload, OFFLOAD_THRESHOLD_BYTES } from '../blobs/index.ts';
import type { BlobStore, JobRegistry, TaskEnvelope, TaskQueue } from '../interfaces.ts';
import { toErrorInfo } from '../jobs/errors.ts';
import { builtinJobs, createRegistry, type JobFactory } from '../jobs/index.ts';
import { createCloudTasksQueue } from '../queues/cloud-tasks-queue.ts';
import { checkEnvelope } from '../schemas/index.ts';
import { InvalidJobError } from './errors.ts';
import { Job, type JobInit } from './job.ts';
import { JobResult } from './job-result.ts';
import { type CancelOutcome, type IdTokenSource, OperatorClient, type TaskStatus } from './operator-client.ts';
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
  /** Seed 000's GcpContext: the Kubernetes namespace, carried as the `namespace` label. */
  namespace?: string;
  /** Seed 000's GcpContext: the business name, carried as the `business` label. */
  business?: string;
  /** Seed 000's GcpContext: the bucket task data is uploaded to (when no `blobs` is given). */
  bucket?: string;
  /** Upload every task's data to the bucket, whatever its size (seed 000's flow). Default: only over the threshold. */
  uploadAllData?: boolean;
  /** User job types: their create(args) + serialize() check a task's args before anything is sent. */
  jobs?: JobFactory[];
  /**
   * Submit jobs through this Pub/Sub topic instead of Cloud Tasks (seed 000's
   * path): every task's data goes to the bucket, and one message per task
   * carries its envelope with the `dataRef`. Short id or `projects/P/topics/T`.
   */
  topic?: string;
  /** A ready Pub/Sub client for `topic` (not closed by close()); default one created on first use (PUBSUB_EMULATOR_HOST is honoured). */
  pubsub?: PubSub;
}

/** Seed 000's GcpContext, as the options it fills. */
export type GcpContext = Pick<ExecutorOptions, 'project' | 'location' | 'bucket' | 'namespace' | 'business' | 'topic'>;

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
  readonly #ownsBlobs: boolean;
  readonly #registry: JobRegistry;
  readonly #uploadAll: boolean;
  readonly #topic: string | undefined;
  #pubsub: PubSub | undefined;
  readonly #ownsPubsub: boolean;
  /** Labels every task carries (namespace, business). */
  readonly labels: Record<string, string>;

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
    this.#ownsBlobs = !opts.blobs && Boolean(opts.bucket);
    this.#blobs = opts.blobs ?? (opts.bucket ? createGcsBlobStore({ bucket: opts.bucket }) : undefined);
    this.#topic = opts.topic;
    this.#pubsub = opts.pubsub;
    this.#ownsPubsub = !opts.pubsub;
    // Through a topic the message only says where the data is (seed 000).
    this.#uploadAll = opts.uploadAllData ?? Boolean(opts.topic);
    // Built-ins with empty allow lists: create() checks args only; the worker's lists decide at run time.
    this.#registry = createRegistry([...builtinJobs({ httpAllow: [], execCommands: [] }), ...(opts.jobs ?? [])]);
    this.labels = {
      ...(opts.namespace ? { namespace: labelValue('namespace', opts.namespace) } : {}),
      ...(opts.business ? { business: labelValue('business', opts.business) } : {}),
    };
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
      // A type this SDK knows has its args checked here, as execute() does: a
      // wrong arg is an error now, not a permanent failure on the worker later.
      const args = typeof job.type === 'string' && this.#registry.has(job.type) ? this.#checkedArgs(job.type, job.args, '') : job.args;
      const envelope: TaskEnvelope = {
        id,
        type: job.type,
        ...(args !== undefined ? { args } : {}),
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

  /**
   * Submit a job of one or more tasks (seed 000's Execute). Never rejects:
   * when the job cannot be submitted the result's `error` is set and none of
   * its tasks runs. Every task's args are checked first (create + serialize
   * for a type this SDK knows), then data is uploaded, then the tasks are sent.
   */
  async execute(jobOrSpec: Job | JobInit): Promise<JobResult> {
    let job: Job;
    try {
      job = jobOrSpec instanceof Job ? jobOrSpec : new Job(jobOrSpec);
    } catch (err) {
      const placeholder = new Job({ id: 'invalid', tasks: [{ type: 'invalid' }] });
      return new JobResult(placeholder, this.operator, err as Error);
    }
    const uploaded: string[] = [];
    const created: Array<{ queue: string; task: string }> = [];
    try {
      // 1. Check everything before anything is sent.
      const envelopes = job.tasks.map((task) => this.#taskEnvelope(job, task));
      if (this.#uploadAll && !this.#blobs && job.tasks.some((task) => task.data !== undefined)) {
        throw new InvalidJobError(
          `job ${job.id}: task data must go to a bucket ${this.#topic ? 'when submitting through a topic' : 'with uploadAllData'}: set bucket (or blobs)`,
        );
      }
      // 2. Upload task data.
      job.advance('Task Data Uploading');
      await mapBounded(job.tasks, 16, async (task) => {
        const envelope = envelopes[task.index]!;
        if (task.data === undefined) return;
        const key = `payloads/${task.id}.json`;
        if (this.#uploadAll) {
          envelope.dataRef = await this.#blobs!.put(key, Buffer.from(JSON.stringify(task.data)), 'application/json');
          uploaded.push(envelope.dataRef);
          return;
        }
        const payload = await maybeOffload(this.#blobs, key, task.data, this.#threshold);
        if ('dataRef' in payload) {
          envelope.dataRef = payload.dataRef;
          uploaded.push(payload.dataRef);
        } else envelope.data = payload.data;
      });
      // 3. Send every task.
      if (this.#topic) {
        const topic = (await this.#pubsubClient()).topic(this.#topic);
        let published = 0;
        try {
          await mapBounded(job.tasks, 16, async (task) => {
            await topic.publishMessage({
              data: Buffer.from(JSON.stringify(envelopes[task.index])),
              attributes: { 'content-type': 'application/json', job: job.id, task: task.id },
            });
            published++;
          });
        } catch (err) {
          // A published message cannot be taken back: cancelling the job leaves
          // each task a cancelled record, so its message runs nothing.
          if (published > 0) await this.operator.cancelJob(job.id, job.tasks.length).catch(() => {});
          throw err;
        }
        job.advance('Job Message Published');
        return new JobResult(job, this.operator);
      }
      await mapBounded(job.tasks, 16, async (task) => {
        const res = await this.#tasks.createTask({
          queue: this.queue,
          taskName: task.id,
          url: this.pushUrl,
          body: Buffer.from(JSON.stringify(envelopes[task.index])),
          headers: { 'Content-Type': 'application/json' },
          ...(this.#oidc ? { oidc: this.#oidc } : {}),
          ...(this.#deadline !== undefined ? { dispatchDeadlineSeconds: this.#deadline } : {}),
        });
        if (!res.alreadyExisted) created.push({ queue: this.queue, task: task.id });
      });
      job.advance('Job Message Published');
      return new JobResult(job, this.operator);
    } catch (err) {
      // Half a job must not run: take back what was sent and uploaded.
      await Promise.allSettled(created.map((c) => this.#tasks.deleteTask(c.queue, c.task)));
      await Promise.allSettled(uploaded.map((ref) => this.#blobs!.delete(ref)));
      return new JobResult(job, this.operator, err as Error);
    }
  }

  async #pubsubClient(): Promise<PubSub> {
    if (!this.#pubsub) {
      const { PubSub } = await import('@google-cloud/pubsub');
      this.#pubsub = new PubSub({ projectId: this.project, ...emulatorClientOptions('PUBSUB_EMULATOR_HOST') });
    }
    return this.#pubsub;
  }

  /** A known type's args through its create() + serialize(); InvalidJobError (prefixed with `where`) when they are wrong. */
  #checkedArgs(type: string, args: Record<string, unknown> | undefined, where: string): Record<string, unknown> {
    try {
      const impl = this.#registry.make(type);
      impl.create(args ?? {});
      return JSON.parse(impl.serialize().toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      const info = toErrorInfo(err);
      throw new InvalidJobError(`${where}${info.code}: ${info.message}`);
    }
  }

  /** The envelope of one task of a job; InvalidJobError naming the task when its type or args are wrong. */
  #taskEnvelope(job: Job, task: Job['tasks'][number]): TaskEnvelope {
    const where = `job ${job.id}, ${task.label}`;
    if (typeof task.type !== 'string' || task.type === '') throw new InvalidJobError(`${where}: type is required`);
    if (this.#registry.has(task.type)) task.args = this.#checkedArgs(task.type, task.args, `${where}: `);
    const envelope: TaskEnvelope = {
      id: task.id,
      type: task.type,
      ...(task.args !== undefined ? { args: task.args } : {}),
      ...(job.notify !== undefined ? { notify: job.notify } : {}),
      job: { id: job.id, size: job.tasks.length, index: task.index, ...(task.name !== undefined ? { name: task.name } : {}) },
      ...(Object.keys(this.labels).length ? { labels: this.labels } : {}),
    };
    const checked = checkEnvelope(envelope);
    if (!checked.ok) throw new InvalidJobError(`${where}: ${checked.reason}`);
    return envelope;
  }

  /** The lineage's record; undefined when the service has not seen it (yet). */
  status(id: string | Result): Promise<TaskStatus | undefined> {
    return this.operator.status(idOf(id));
  }

  /** The job's output; undefined when it has none (yet). */
  output(id: string | Result): Promise<unknown> {
    return this.operator.output(idOf(id));
  }

  /**
   * Cancel a lineage (a queued task is deleted, a running attempt aborted;
   * OperatorError 404/409 otherwise), or every unfinished task of a job.
   */
  cancel(id: string | Result): Promise<CancelOutcome>;
  cancel(job: Job | JobResult): Promise<JobCancelOutcome>;
  async cancel(target: string | Result | Job | JobResult): Promise<CancelOutcome | JobCancelOutcome> {
    if (target instanceof Job || target instanceof JobResult) {
      const job = target instanceof Job ? target : target.job;
      const out = await this.operator.cancelJob(job.id, job.tasks.length);
      job.advance('Cancelled');
      return out;
    }
    return this.operator.cancel(idOf(target));
  }

  /** Close the clients this executor created (a given taskQueue and blobs stay open). */
  async close(): Promise<void> {
    if (this.#ownsTasks) await this.#tasks.close();
    if (this.#ownsBlobs) await this.#blobs?.close();
    if (this.#ownsPubsub) await this.#pubsub?.close();
  }
}

export interface JobCancelOutcome {
  id: string;
  /** Tasks cancelled now. */
  cancelled: string[];
  /** Tasks that had already ended. */
  alreadyEnded: string[];
  /** Queued tasks deleted, as `queue/task`. */
  deleted: string[];
}

/** Label values as Cloud Logging and GCP labels take them: at most 63 characters. */
function labelValue(name: string, value: string): string {
  if (value.length > 63) throw new InvalidJobError(`${name} "${value.slice(0, 20)}..." is longer than 63 characters`);
  return value;
}

async function mapBounded<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
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
