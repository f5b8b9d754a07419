// A task as the emulator keeps it, how a CreateTask body becomes one, and the
// JSON the REST API returns for it (BASIC omits the body, FULL includes it).
import { randomInt } from 'node:crypto';
import type { ApiVersion } from './api-schema.ts';
import { type AppEngineRequestSpec, appEngineRequestToJson, parseAppEngineRequest } from './app-engine.ts';
import { failedPrecondition, invalidArgument } from './google-error.ts';
import { urlFromOverride } from './http-target.ts';
import type { QueueConfig } from './queue-model.ts';
import { parseTaskName } from './resource-names.ts';
import { formatDuration, formatTimestamp, type HttpMethod, httpMethodEnum, parseBytes, parseDuration, parseTimestamp, type View } from './wire.ts';

export const MAX_TASK_BYTES = 1024 * 1024;
export const MAX_SCHEDULE_AHEAD_MS = 30 * 24 * 3600 * 1000;
export const DEFAULT_DISPATCH_DEADLINE_MS = 10 * 60 * 1000;
const MIN_DISPATCH_DEADLINE_MS = 15 * 1000;
const MAX_DISPATCH_DEADLINE_MS = 30 * 60 * 1000;
const MAX_URL_LENGTH = 2083;
const MAX_HEADER_BYTES = 80 * 1024;

export interface Attempt {
  scheduleTime?: number;
  dispatchTime?: number;
  responseTime?: number;
  /** google.rpc.Status of the response (code 0 = OK). */
  responseStatus?: { code: number; message: string };
}

export interface HttpRequestSpec {
  url: string;
  httpMethod: Exclude<HttpMethod, 'HTTP_METHOD_UNSPECIFIED'>;
  headers: Record<string, string>;
  body?: Buffer;
  oidcToken?: { serviceAccountEmail: string; audience?: string };
  oauthToken?: { serviceAccountEmail: string; scope?: string };
}

export interface PullMessageSpec {
  payload?: Buffer;
  tag?: string;
}

/** Exactly one of httpRequest, appEngineHttpRequest and pullMessage is set. */
export interface TaskRecord {
  id: string;
  name: string;
  httpRequest?: HttpRequestSpec;
  appEngineHttpRequest?: AppEngineRequestSpec;
  /** v2beta3 pull queues: stored, listed and deleted, never dispatched. */
  pullMessage?: PullMessageSpec;
  /** When the next attempt is due. */
  scheduleTime: number;
  createTime: number;
  dispatchDeadlineMs: number;
  dispatchCount: number;
  responseCount: number;
  /** Responses received that were not 5xx: the X-CloudTasks-TaskExecutionCount header. */
  executionCount: number;
  previousResponse?: number;
  retryReason?: string;
  firstAttempt?: Attempt;
  lastAttempt?: Attempt;
  /** Pushes of this task currently awaiting a response. */
  inFlight: number;
}

/** Cloud Tasks' generated ids are long decimal numbers. */
export function generateTaskId(): string {
  return `${randomInt(1, 2 ** 47)}${String(randomInt(0, 1e6)).padStart(6, '0')}`;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

function parseHttpRequest(raw: Record<string, unknown>, queue: QueueConfig): HttpRequestSpec {
  // A queue whose httpTarget overrides the host supplies the URL a task leaves out.
  const url = typeof raw.url === 'string' && raw.url !== '' ? raw.url : urlFromOverride(queue.httpTarget?.uriOverride);
  if (typeof url !== 'string' || url.length === 0) throw invalidArgument('HttpRequest.url is required');
  if (url.length > MAX_URL_LENGTH) throw invalidArgument(`HttpRequest.url must be at most ${MAX_URL_LENGTH} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidArgument(`HttpRequest.url is not a valid URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalidArgument('HttpRequest.url must start with http:// or https://');
  const method = httpMethodEnum.parse(raw.httpMethod, 'task.http_request.http_method');
  const httpMethod = !method || method === 'HTTP_METHOD_UNSPECIFIED' ? 'POST' : method;
  const headers: Record<string, string> = {};
  let headerBytes = 0;
  for (const [k, v] of Object.entries((raw.headers ?? {}) as Record<string, unknown>)) {
    headers[k] = String(v);
    headerBytes += k.length + String(v).length;
  }
  if (headerBytes > MAX_HEADER_BYTES) throw invalidArgument('HttpRequest.headers must be smaller than 80KB');
  const body = raw.body === undefined || raw.body === null || raw.body === '' ? undefined : parseBytes(raw.body, 'task.http_request.body');
  if (body && !BODY_METHODS.has(httpMethod)) throw invalidArgument(`HttpRequest.body is only allowed for POST, PUT and PATCH, not ${httpMethod}`);
  const spec: HttpRequestSpec = { url, httpMethod, headers, body };
  const oidc = raw.oidcToken as Record<string, unknown> | undefined;
  const oauth = raw.oauthToken as Record<string, unknown> | undefined;
  if (oidc && oauth) throw invalidArgument('HttpRequest may set oidcToken or oauthToken, not both');
  if (oidc) {
    if (typeof oidc.serviceAccountEmail !== 'string' || !oidc.serviceAccountEmail) throw invalidArgument('oidcToken.serviceAccountEmail is required');
    spec.oidcToken = {
      serviceAccountEmail: oidc.serviceAccountEmail,
      audience: typeof oidc.audience === 'string' && oidc.audience ? oidc.audience : undefined,
    };
  }
  if (oauth) {
    if (typeof oauth.serviceAccountEmail !== 'string' || !oauth.serviceAccountEmail) throw invalidArgument('oauthToken.serviceAccountEmail is required');
    spec.oauthToken = { serviceAccountEmail: oauth.serviceAccountEmail, scope: typeof oauth.scope === 'string' ? oauth.scope : undefined };
  }
  return spec;
}

type TaskSpec = Omit<TaskRecord, 'id' | 'name'> & { id?: string };

/** Validate a CreateTask `task` body (camelCase, type-checked) and build the record (id chosen by the caller when unnamed). */
export function taskFromCreate(raw: unknown, queue: QueueConfig, now: number, appEngineUrl: string | undefined): TaskSpec {
  if (typeof raw !== 'object' || raw === null) throw invalidArgument('CreateTaskRequest.task is required');
  const t = raw as Record<string, unknown>;
  const targets = ['httpRequest', 'appEngineHttpRequest', 'pullMessage'].filter((k) => t[k] !== undefined);
  if (targets.length > 1)
    throw invalidArgument(`Task may set only one of http_request, app_engine_http_request and pull_message, not ${targets.join(' and ')}.`);
  if (targets.length === 0) throw invalidArgument('Task.httpRequest or Task.appEngineHttpRequest is required');
  const id = t.name === undefined || t.name === '' ? undefined : parseTaskName(t.name, queue.name);
  const target: Pick<TaskRecord, 'httpRequest' | 'appEngineHttpRequest' | 'pullMessage'> = {};
  let size = 0;
  if (queue.type === 'PULL' && t.pullMessage === undefined) throw failedPrecondition('A PULL queue takes only tasks with a pull_message.');
  if (queue.type === 'PUSH' && t.pullMessage !== undefined) throw failedPrecondition('A PUSH queue cannot take tasks with a pull_message.');
  if (t.httpRequest !== undefined) {
    const r = parseHttpRequest(t.httpRequest as Record<string, unknown>, queue);
    target.httpRequest = r;
    size = (r.body?.length ?? 0) + r.url.length + Object.entries(r.headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
  } else if (t.appEngineHttpRequest !== undefined) {
    if (!appEngineUrl)
      throw failedPrecondition('This emulator has no App Engine app: set EMULATOR_APP_ENGINE_URL to the local URL that serves App Engine tasks.');
    const r = parseAppEngineRequest(t.appEngineHttpRequest as Record<string, unknown>);
    target.appEngineHttpRequest = r;
    size = (r.body?.length ?? 0) + r.relativeUri.length + Object.entries(r.headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
  } else {
    const p = t.pullMessage as Record<string, unknown>;
    const payload = p.payload === undefined || p.payload === '' ? undefined : parseBytes(p.payload, 'task.pull_message.payload');
    target.pullMessage = { ...(payload ? { payload } : {}), ...(typeof p.tag === 'string' && p.tag ? { tag: p.tag } : {}) };
    size = (payload?.length ?? 0) + String(p.tag ?? '').length;
  }
  if (size > MAX_TASK_BYTES) throw invalidArgument(`Task size too large: ${size} bytes; the maximum is ${MAX_TASK_BYTES} bytes.`);
  let scheduleTime = now;
  if (t.scheduleTime !== undefined && t.scheduleTime !== null && t.scheduleTime !== '') {
    const at = parseTimestamp(t.scheduleTime, 'task.schedule_time');
    if (at > now + MAX_SCHEDULE_AHEAD_MS) throw invalidArgument('Task.scheduleTime must be at most 30 days in the future.');
    scheduleTime = Math.max(now, at);
  }
  let dispatchDeadlineMs = DEFAULT_DISPATCH_DEADLINE_MS;
  if (t.dispatchDeadline !== undefined && t.dispatchDeadline !== null && t.dispatchDeadline !== '') {
    dispatchDeadlineMs = parseDuration(t.dispatchDeadline, 'task.dispatch_deadline');
    if (dispatchDeadlineMs < MIN_DISPATCH_DEADLINE_MS || dispatchDeadlineMs > MAX_DISPATCH_DEADLINE_MS) {
      throw invalidArgument('Task.dispatchDeadline must be between 15 seconds and 30 minutes.');
    }
  }
  return { id, ...target, scheduleTime, createTime: now, dispatchDeadlineMs, dispatchCount: 0, responseCount: 0, executionCount: 0, inFlight: 0 };
}

function attemptToJson(a: Attempt): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (a.scheduleTime !== undefined) out.scheduleTime = formatTimestamp(a.scheduleTime);
  if (a.dispatchTime !== undefined) out.dispatchTime = formatTimestamp(a.dispatchTime);
  if (a.responseTime !== undefined) out.responseTime = formatTimestamp(a.responseTime);
  if (a.responseStatus) out.responseStatus = a.responseStatus.code === 0 ? {} : { ...a.responseStatus };
  return out;
}

/** The Task resource in proto3 JSON (zero counters omitted, as the real API does). */
export function taskToJson(t: TaskRecord, view: View, enumsAsInt: boolean, version: ApiVersion = 'v2', queue?: QueueConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { name: t.name };
  if (t.httpRequest) {
    const r = t.httpRequest;
    const httpRequest: Record<string, unknown> = { url: r.url, httpMethod: httpMethodEnum.format(r.httpMethod, enumsAsInt) };
    if (Object.keys(r.headers).length > 0) httpRequest.headers = { ...r.headers };
    if (view === 'FULL' && r.body) httpRequest.body = r.body.toString('base64');
    if (r.oidcToken) httpRequest.oidcToken = { ...r.oidcToken };
    if (r.oauthToken) httpRequest.oauthToken = { ...r.oauthToken };
    out.httpRequest = httpRequest;
  }
  if (t.appEngineHttpRequest) {
    const r = t.appEngineHttpRequest;
    out.appEngineHttpRequest = appEngineRequestToJson(
      r,
      t.name.split('/')[1]!,
      queue?.appEngineRoutingOverride,
      view === 'FULL',
      httpMethodEnum.format(r.httpMethod, enumsAsInt),
    );
  }
  // v2 has no pull tasks: they show there without a payload field.
  if (t.pullMessage && version === 'v2beta3') {
    out.pullMessage = {
      ...(view === 'FULL' && t.pullMessage.payload ? { payload: t.pullMessage.payload.toString('base64') } : {}),
      ...(t.pullMessage.tag ? { tag: t.pullMessage.tag } : {}),
    };
  }
  Object.assign(out, {
    scheduleTime: formatTimestamp(t.scheduleTime),
    createTime: formatTimestamp(t.createTime),
    dispatchDeadline: formatDuration(t.dispatchDeadlineMs),
  });
  if (t.dispatchCount) out.dispatchCount = t.dispatchCount;
  if (t.responseCount) out.responseCount = t.responseCount;
  if (t.firstAttempt) out.firstAttempt = attemptToJson(t.firstAttempt);
  if (t.lastAttempt) out.lastAttempt = attemptToJson(t.lastAttempt);
  out.view = enumsAsInt ? (view === 'FULL' ? 2 : 1) : view;
  return out;
}

/** HTTP status -> google.rpc.Status, as Cloud Tasks records it in Attempt.responseStatus. */
export function rpcStatusForHttp(status: number | undefined, reason?: string): { code: number; message: string } {
  if (status === undefined) return reason === 'deadline' ? { code: 4, message: 'DEADLINE_EXCEEDED' } : { code: 14, message: 'UNAVAILABLE' };
  const codes: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 429: 8, 499: 1, 501: 12, 503: 14, 504: 4 };
  let code = 0;
  if (status >= 200 && status < 300) code = 0;
  else if (codes[status] !== undefined) code = codes[status];
  else if (status >= 500) code = 13;
  else if (status >= 400) code = 9;
  else code = 2;
  return { code, message: `HTTP status code ${status}` };
}
