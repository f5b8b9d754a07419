// App Engine targets: an AppEngineHttpRequest task, the host Cloud Tasks
// reports for its routing, and the request the emulator sends for it to the
// one local URL that stands in for the App Engine app.
import { invalidArgument } from './google-error.ts';
import { formatEtaSeconds, type HttpMethod, parseBytes } from './wire.ts';

export interface AppEngineRouting {
  service?: string;
  version?: string;
  instance?: string;
}

export interface AppEngineRequestSpec {
  httpMethod: Exclude<HttpMethod, 'HTTP_METHOD_UNSPECIFIED'>;
  relativeUri: string;
  headers: Record<string, string>;
  body?: Buffer;
  routing?: AppEngineRouting;
}

const MAX_URI_LENGTH = 2083;
/** App Engine requests may carry a body only with POST and PUT (target.proto). */
const BODY_METHODS = new Set(['POST', 'PUT']);
const USER_AGENT = 'AppEngine-Google; (+http://code.google.com/appengine)';

/** Output-only AppEngineRouting.host: [instance.][version.][service.]<project>.appspot.com. */
export function appEngineHost(project: string, r: AppEngineRouting | undefined): string {
  return [r?.instance, r?.version, r?.service, `${project}.appspot.com`].filter(Boolean).join('.');
}

function routingOf(raw: unknown): AppEngineRouting | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  const out: AppEngineRouting = {};
  for (const k of ['service', 'version', 'instance'] as const) if (typeof r[k] === 'string' && r[k]) out[k] = r[k] as string;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Validate a (camelCase, type-checked) AppEngineHttpRequest. */
export function parseAppEngineRequest(raw: Record<string, unknown>): AppEngineRequestSpec {
  const method = (raw.httpMethod as HttpMethod | undefined) ?? 'HTTP_METHOD_UNSPECIFIED';
  const httpMethod = method === 'HTTP_METHOD_UNSPECIFIED' ? 'POST' : method;
  const relativeUri = typeof raw.relativeUri === 'string' && raw.relativeUri !== '' ? raw.relativeUri : '/';
  if (!relativeUri.startsWith('/') || /\s/.test(relativeUri))
    throw invalidArgument('AppEngineHttpRequest.relative_uri must begin with "/" and contain no spaces.');
  if (relativeUri.length > MAX_URI_LENGTH) throw invalidArgument(`AppEngineHttpRequest.relative_uri must be at most ${MAX_URI_LENGTH} characters.`);
  const headers = { ...((raw.headers ?? {}) as Record<string, string>) };
  const body = raw.body === undefined || raw.body === '' ? undefined : parseBytes(raw.body, 'task.app_engine_http_request.body');
  if (body && !BODY_METHODS.has(httpMethod)) throw invalidArgument(`AppEngineHttpRequest.body is only allowed for POST and PUT, not ${httpMethod}.`);
  const spec: AppEngineRequestSpec = { httpMethod, relativeUri, headers, body };
  const routing = routingOf(raw.appEngineRouting);
  if (routing) spec.routing = routing;
  return spec;
}

export function appEngineRequestToJson(
  r: AppEngineRequestSpec,
  project: string,
  queueOverride: AppEngineRouting | undefined,
  withBody: boolean,
  method: string | number,
): Record<string, unknown> {
  // A queue's routing override wins over the task's own (target.proto).
  const routing = queueOverride ?? r.routing;
  const out: Record<string, unknown> = {
    httpMethod: method,
    appEngineRouting: { ...routing, host: appEngineHost(project, routing) },
    relativeUri: r.relativeUri,
  };
  if (Object.keys(r.headers).length > 0) out.headers = { ...r.headers };
  if (withBody && r.body) out.body = r.body.toString('base64');
  return out;
}

export interface TaskCounters {
  queueId: string;
  taskId: string;
  retryCount: number;
  executionCount: number;
  etaMs: number;
  previousResponse?: number;
  retryReason?: string;
}

/** Headers Cloud Tasks owns on App Engine pushes; a task cannot set them. */
const RESERVED = /^(host|content-length|x-google-.*|x-appengine-.*)$/i;

/** The headers of an App Engine push, as "Reading App Engine task request headers" documents them. */
export function appEngineHeaders(r: AppEngineRequestSpec, c: TaskCounters): Record<string, string> {
  const h: Record<string, string> = {};
  let userAgent: string | undefined;
  for (const [k, v] of Object.entries(r.headers)) {
    if (RESERVED.test(k)) continue;
    if (k.toLowerCase() === 'user-agent') userAgent = v;
    else h[k] = v;
  }
  // A task's own User-Agent is kept, with App Engine's appended.
  h['User-Agent'] = userAgent ? `${userAgent} ${USER_AGENT}` : USER_AGENT;
  if (r.body && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/octet-stream';
  h['X-AppEngine-QueueName'] = c.queueId;
  h['X-AppEngine-TaskName'] = c.taskId;
  h['X-AppEngine-TaskRetryCount'] = String(c.retryCount);
  h['X-AppEngine-TaskExecutionCount'] = String(c.executionCount);
  h['X-AppEngine-TaskETA'] = formatEtaSeconds(c.etaMs);
  if (c.previousResponse !== undefined) h['X-AppEngine-TaskPreviousResponse'] = String(c.previousResponse);
  if (c.retryReason !== undefined) h['X-AppEngine-TaskRetryReason'] = c.retryReason;
  return h;
}

/** The URL an App Engine task goes to: the stand-in app's base URL plus the task's relative URI. */
export function appEngineUrl(base: string, r: AppEngineRequestSpec): string {
  return `${base.replace(/\/+$/, '')}${r.relativeUri}`;
}
