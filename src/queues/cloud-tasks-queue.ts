// TaskQueue over Cloud Tasks v2 with the official client. The same code runs
// in production (gRPC, Application Default Credentials) and against the
// project's emulator (`CLOUD_TASKS_EMULATOR_HOST`: REST over plain HTTP, no
// credentials), exactly as the other Google clients treat their emulators.
import { CloudTasksClient } from '@google-cloud/tasks';
import { PassThroughClient } from 'google-auth-library';
import type { Logger } from 'pino';
import type { CreatedTask, CreateTaskInput, QueuedTask, QueueInfo, TaskQueue } from '../interfaces.ts';
import { MissingCredentials } from '../jobs/errors.ts';

/** gRPC status codes the client's errors carry (REST errors are mapped to them too). */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

export interface CloudTasksQueueOptions {
  project: string;
  location: string;
  /** `host:port` of a Cloud Tasks REST emulator (CLOUD_TASKS_EMULATOR_HOST). */
  emulatorHost?: string;
  /** A ready client (tests, custom settings); closed by close() all the same. */
  client?: CloudTasksClient;
  logger?: Logger;
}

export function queuePath(project: string, location: string, queue: string): string {
  return `projects/${project}/locations/${location}/queues/${queue}`;
}

export function taskPath(project: string, location: string, queue: string, task: string): string {
  return `${queuePath(project, location, queue)}/tasks/${task}`;
}

/** The short id from a full resource name (`.../tasks/ID` -> `ID`). */
export function shortName(name: string): string {
  const i = name.lastIndexOf('/');
  return i === -1 ? name : name.slice(i + 1);
}

/** Split `host:port` (or `[v6]:port`, or `http://host:port`); port defaults to 80. */
export function parseEmulatorHost(value: string): { host: string; port: number } {
  const v = value.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(v);
  if (!m) throw new Error(`CLOUD_TASKS_EMULATOR_HOST must be host:port, got ${JSON.stringify(value)}`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return { host, port: m[2] ? Number(m[2]) : 80 };
}

export function createCloudTasksClient(emulatorHost?: string): CloudTasksClient {
  if (!emulatorHost) return new CloudTasksClient();
  const { host, port } = parseEmulatorHost(emulatorHost);
  return new CloudTasksClient({
    fallback: true,
    apiEndpoint: host,
    port,
    protocol: 'http',
    // The emulator needs no credentials; never look for ADC locally. The
    // client's types say GoogleAuth, but gax uses any AuthClient it is given.
    auth: new PassThroughClient() as never,
  });
}

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function durationSeconds(d: { seconds?: number | string | { toString(): string } | null; nanos?: number | null } | null | undefined): number {
  if (!d) return 0;
  return Number(d.seconds ?? 0) + (d.nanos ?? 0) / 1e9;
}

function stateName(state: unknown): string {
  if (typeof state === 'string') return state;
  if (typeof state === 'number') return ['STATE_UNSPECIFIED', 'RUNNING', 'PAUSED', 'DISABLED'][state] ?? String(state);
  return 'STATE_UNSPECIFIED';
}

export function createCloudTasksQueue(opts: CloudTasksQueueOptions): TaskQueue {
  const client = opts.client ?? createCloudTasksClient(opts.emulatorHost);
  const log = opts.logger;
  const qpath = (queue: string) => queuePath(opts.project, opts.location, queue);
  // Every generated method starts initialize() and rethrows its rejection in a
  // promise nobody handles (`initialize().catch(err => { throw err })`): without
  // credentials each call would add an unhandled rejection, which ends the
  // process (a user's script, or the worker). Awaiting the stub first turns
  // that into an error the caller handles, and the method is never called.
  // Off the emulator, a stub that cannot come up means no credentials: say so.
  const ready = opts.emulatorHost
    ? () => client.initialize()
    : () =>
        client.initialize().catch((err: unknown) => {
          throw new MissingCredentials('Cloud Tasks', 'CLOUD_TASKS_EMULATOR_HOST', err);
        });

  return {
    async createTask(input: CreateTaskInput): Promise<CreatedTask> {
      await ready();
      const name = input.taskName ? `${qpath(input.queue)}/tasks/${input.taskName}` : undefined;
      const headers: Record<string, string> = { ...(input.headers ?? {}) };
      const task = {
        ...(name ? { name } : {}),
        httpRequest: {
          url: input.url,
          httpMethod: 'POST' as const,
          headers,
          body: input.body,
          ...(input.oidc ? { oidcToken: { serviceAccountEmail: input.oidc.serviceAccountEmail, audience: input.oidc.audience ?? input.url } } : {}),
        },
        ...(input.scheduleTime
          ? {
              scheduleTime: {
                seconds: Math.floor(input.scheduleTime.getTime() / 1000),
                nanos: (input.scheduleTime.getTime() % 1000) * 1e6,
              },
            }
          : {}),
        ...(input.dispatchDeadlineSeconds !== undefined ? { dispatchDeadline: { seconds: Math.round(input.dispatchDeadlineSeconds) } } : {}),
      };
      try {
        const [created] = await client.createTask({ parent: qpath(input.queue), task });
        const full = created.name ?? name ?? '';
        log?.debug({ queue: input.queue, task: shortName(full) }, 'task created');
        return { taskName: shortName(full), name: full, alreadyExisted: false };
      } catch (err) {
        if (grpcCode(err) === ALREADY_EXISTS && name) {
          // A retried create of a deterministic name: the first one won; done.
          log?.debug({ queue: input.queue, task: input.taskName }, 'task already exists');
          return { taskName: input.taskName!, name, alreadyExisted: true };
        }
        throw err;
      }
    },

    async deleteTask(queue: string, taskName: string): Promise<boolean> {
      await ready();
      try {
        await client.deleteTask({ name: `${qpath(queue)}/tasks/${taskName}` });
        return true;
      } catch (err) {
        if (grpcCode(err) === NOT_FOUND) return false;
        throw err;
      }
    },

    async getTask(queue: string, taskName: string): Promise<QueuedTask | undefined> {
      await ready();
      try {
        const [t] = await client.getTask({ name: `${qpath(queue)}/tasks/${taskName}`, responseView: 'FULL' });
        const body = t.httpRequest?.body;
        return {
          taskName,
          ...(t.scheduleTime?.seconds != null ? { scheduleTime: timestampIso(t.scheduleTime) } : {}),
          ...(t.createTime?.seconds != null ? { createTime: timestampIso(t.createTime) } : {}),
          ...(body ? { body: typeof body === 'string' ? Buffer.from(body, 'base64') : Buffer.from(body) } : {}),
        };
      } catch (err) {
        if (grpcCode(err) === NOT_FOUND) return undefined;
        throw err;
      }
    },

    async getQueue(queue: string): Promise<QueueInfo | undefined> {
      await ready();
      try {
        const [q] = await client.getQueue({ name: qpath(queue) });
        return {
          name: q.name ?? qpath(queue),
          maxAttempts: q.retryConfig?.maxAttempts ?? 100,
          maxRetryDurationSeconds: durationSeconds(q.retryConfig?.maxRetryDuration),
          state: stateName(q.state),
        };
      } catch (err) {
        if (grpcCode(err) === NOT_FOUND) return undefined;
        throw err;
      }
    },

    async close(): Promise<void> {
      // The client's close() waits for its stub, which rejects when the stub
      // never came up (no credentials): then there is nothing to release, and
      // the failure was already reported by the call that needed the stub.
      await client.close().catch(() => undefined);
    },
  };
}

function timestampIso(ts: { seconds?: number | string | { toString(): string } | null; nanos?: number | null }): string {
  return new Date(Number(String(ts.seconds ?? 0)) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}
