// A queue's configuration: defaults Cloud Tasks returns on create, validation,
// updateMask handling and the JSON the REST API returns.
import { type ApiVersion, messageFields, snakeToCamel } from './api-schema.ts';
import { type AppEngineRouting, appEngineHost } from './app-engine.ts';
import { invalidArgument } from './google-error.ts';
import { type HttpTargetSpec, httpTargetToJson, parseHttpTarget } from './http-target.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { formatDuration, formatTimestamp, parseDuration, type QueueState, queueStateEnum } from './wire.ts';

export interface RateLimits {
  maxDispatchesPerSecond: number;
  /** Output only; derived from the rate. */
  maxBurstSize: number;
  maxConcurrentDispatches: number;
}

export interface QueueConfig {
  name: string;
  rateLimits: RateLimits;
  retryConfig: RetryPolicy;
  state: QueueState;
  purgeTime?: number;
  stackdriverLoggingConfig?: { samplingRatio: number };
  /** v2beta3's queue type; v2 queues are PUSH. */
  type: 'PUSH' | 'PULL';
  appEngineRoutingOverride?: AppEngineRouting;
  httpTarget?: HttpTargetSpec;
  /** The queue's object-valued fields as the API last received them (camelCase), for update masks. */
  objects: Record<string, unknown>;
  taskTtlMs: number;
  tombstoneTtlMs: number;
}

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Cloud Tasks' defaults and bounds for v2beta3's taskTtl and tombstoneTtl (queue.proto). */
const DEFAULT_TASK_TTL_MS = 31 * DAY_MS;
const TASK_TTL_RANGE = { min: 10 * DAY_MS, max: 3650 * DAY_MS, words: '10 days to 10 years' };
const DEFAULT_TOMBSTONE_TTL_MS = HOUR_MS;
const TOMBSTONE_TTL_RANGE = { min: HOUR_MS, max: 9 * DAY_MS, words: '1 hour to 9 days' };

export const MAX_DISPATCHES_PER_SECOND = 500;
export const MAX_CONCURRENT_DISPATCHES = 5000;

/**
 * Cloud Tasks picks maxBurstSize from the rate and does not document how; the
 * default queue (500/s) reports 100. The emulator uses rate/5 within [1, 100];
 * above 500/s (EMULATOR_MAX_RATE only) rate/5, so a raised queue can send a
 * timer tick's worth of tasks at once.
 */
export function burstFor(rate: number): number {
  if (rate > MAX_DISPATCHES_PER_SECOND) return Math.ceil(rate / 5);
  return Math.max(1, Math.min(100, Math.ceil(rate / 5)));
}

export function defaultQueue(name: string): QueueConfig {
  return {
    name,
    rateLimits: { maxDispatchesPerSecond: 500, maxBurstSize: 100, maxConcurrentDispatches: 1000 },
    retryConfig: { maxAttempts: 100, maxRetryDurationMs: 0, minBackoffMs: 100, maxBackoffMs: 3_600_000, maxDoublings: 16 },
    state: 'RUNNING',
    type: 'PUSH',
    objects: {},
    taskTtlMs: DEFAULT_TASK_TTL_MS,
    tombstoneTtlMs: DEFAULT_TOMBSTONE_TTL_MS,
  };
}

/** Fields kept as received JSON and replaced or cleared by mask path (OBJECT_ROOTS.x or x.sub.path). */
const OBJECT_ROOTS = ['appEngineRoutingOverride', 'httpTarget', 'taskTtl', 'tombstoneTtl', 'type'];

/** v2beta3 nests the routing override in appEngineHttpQueue; the model keeps v2's flat field. */
export function queueBodyToV2(version: ApiVersion, body: Record<string, unknown>): Record<string, unknown> {
  if (version === 'v2' || body.appEngineHttpQueue === undefined) return body;
  const { appEngineHttpQueue, ...rest } = body;
  return { ...rest, appEngineRoutingOverride: (appEngineHttpQueue as { appEngineRoutingOverride?: unknown }).appEngineRoutingOverride ?? {} };
}

/** Each field the body sets, already parsed; undefined = not in the body. */
type Fields = Record<string, number | undefined>;

function num(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw invalidArgument(`Invalid value at '${field}': ${JSON.stringify(value)}`);
  return n;
}

function dur(value: unknown, field: string): number | undefined {
  return value === undefined || value === null ? undefined : parseDuration(value, field);
}

/** Flatten a Queue JSON body into mask-path keys (camelCase). */
function fieldsOf(body: Record<string, unknown>): Fields {
  const rate = (body.rateLimits ?? {}) as Record<string, unknown>;
  const retry = (body.retryConfig ?? {}) as Record<string, unknown>;
  const logging = (body.stackdriverLoggingConfig ?? {}) as Record<string, unknown>;
  return {
    'rateLimits.maxDispatchesPerSecond': num(rate.maxDispatchesPerSecond, 'queue.rate_limits.max_dispatches_per_second'),
    'rateLimits.maxConcurrentDispatches': num(rate.maxConcurrentDispatches, 'queue.rate_limits.max_concurrent_dispatches'),
    'retryConfig.maxAttempts': num(retry.maxAttempts, 'queue.retry_config.max_attempts'),
    'retryConfig.maxRetryDuration': dur(retry.maxRetryDuration, 'queue.retry_config.max_retry_duration'),
    'retryConfig.minBackoff': dur(retry.minBackoff, 'queue.retry_config.min_backoff'),
    'retryConfig.maxBackoff': dur(retry.maxBackoff, 'queue.retry_config.max_backoff'),
    'retryConfig.maxDoublings': num(retry.maxDoublings, 'queue.retry_config.max_doublings'),
    'stackdriverLoggingConfig.samplingRatio': num(logging.samplingRatio, 'queue.stackdriver_logging_config.sampling_ratio'),
  };
}

const ALL_PATHS = Object.keys(fieldsOf({}));

/** Set one field; undefined (or proto3's 0 for "unspecified") restores the default. */
function setField(q: QueueConfig, path: string, value: number | undefined): void {
  const d = defaultQueue(q.name);
  switch (path) {
    case 'rateLimits.maxDispatchesPerSecond':
      q.rateLimits.maxDispatchesPerSecond = value || d.rateLimits.maxDispatchesPerSecond;
      q.rateLimits.maxBurstSize = burstFor(q.rateLimits.maxDispatchesPerSecond);
      return;
    case 'rateLimits.maxConcurrentDispatches':
      q.rateLimits.maxConcurrentDispatches = value || d.rateLimits.maxConcurrentDispatches;
      return;
    case 'retryConfig.maxAttempts':
      q.retryConfig.maxAttempts = value || d.retryConfig.maxAttempts;
      return;
    case 'retryConfig.maxRetryDuration':
      q.retryConfig.maxRetryDurationMs = value ?? 0;
      return;
    case 'retryConfig.minBackoff':
      q.retryConfig.minBackoffMs = value || d.retryConfig.minBackoffMs;
      return;
    case 'retryConfig.maxBackoff':
      q.retryConfig.maxBackoffMs = value || d.retryConfig.maxBackoffMs;
      return;
    case 'retryConfig.maxDoublings':
      q.retryConfig.maxDoublings = value ?? d.retryConfig.maxDoublings;
      return;
    case 'stackdriverLoggingConfig.samplingRatio':
      q.stackdriverLoggingConfig = value === undefined ? undefined : { samplingRatio: value };
      return;
  }
}

/** True when `path` names a field of `message` (nested through message fields). */
function knownPath(version: ApiVersion, message: string, path: string[]): boolean {
  let type = `msg:${message}`;
  for (const seg of path) {
    if (!type.startsWith('msg:') || type.endsWith('[]')) return false;
    const next = messageFields(version, type.slice(4))[seg];
    if (next === undefined) return false;
    type = next;
  }
  return true;
}

/** updateMask "a.b,c" in snake_case (Node client) or camelCase (gcloud) -> model paths. */
export function parseUpdateMask(mask: unknown, version: ApiVersion = 'v2'): string[] | undefined {
  if (mask === undefined || mask === '') return undefined;
  const raw = Array.isArray(mask) ? mask.join(',') : String(mask);
  const out: string[] = [];
  for (const part of raw
    .split(',')
    .map((p) => snakeToCamel(p.trim()))
    .filter(Boolean)) {
    if (part === 'rateLimits.maxBurstSize' || part === 'name' || part === 'state' || part === 'purgeTime' || part === 'stats') continue; // output only
    if (!knownPath(version, 'Queue', part.split('.'))) throw invalidArgument(`Invalid update mask path: ${part}`);
    const v2 = part.replace(/^appEngineHttpQueue(\.appEngineRoutingOverride)?/, 'appEngineRoutingOverride');
    if (OBJECT_ROOTS.includes(v2.split('.')[0]!)) {
      out.push(v2);
      continue;
    }
    out.push(...ALL_PATHS.filter((p) => p === v2 || p.startsWith(`${v2}.`)));
  }
  return out;
}

function getPath(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const seg of path) cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[seg] : undefined;
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const seg of path.slice(0, -1)) {
    if (typeof cur[seg] !== 'object' || cur[seg] === null) cur[seg] = {};
    cur = cur[seg] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = structuredClone(value);
}

/** Shallow: a nested {} can mean something ("pathOverride": {} clears the path). */
function isEmpty(v: unknown): boolean {
  return v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
}

function ttlIn(value: unknown, field: string, range: { min: number; max: number; words: string }): number {
  const ms = parseDuration(value, field);
  if (ms < range.min || ms > range.max) throw invalidArgument(`${field} must be from ${range.words}, got ${formatDuration(ms)}`);
  return ms;
}

/** Rebuild the typed fields from `objects` after a change. */
function applyObjects(q: QueueConfig, creating: boolean, previousType: QueueConfig['type']): void {
  const o = q.objects;
  for (const k of Object.keys(o)) if (isEmpty(o[k])) delete o[k];
  const routing = o.appEngineRoutingOverride as AppEngineRouting | undefined;
  q.appEngineRoutingOverride = routing ? { ...routing } : undefined;
  const target = o.httpTarget === undefined ? undefined : parseHttpTarget(o.httpTarget as Record<string, unknown>, 'queue.http_target');
  const targetSetsAnything = target && (target.uriOverride || target.httpMethod || target.headerOverrides.length > 0 || target.oidcToken || target.oauthToken);
  q.httpTarget = targetSetsAnything ? target : undefined;
  if (!targetSetsAnything) delete o.httpTarget;
  q.taskTtlMs = o.taskTtl === undefined ? DEFAULT_TASK_TTL_MS : ttlIn(o.taskTtl, 'queue.task_ttl', TASK_TTL_RANGE);
  q.tombstoneTtlMs = o.tombstoneTtl === undefined ? DEFAULT_TOMBSTONE_TTL_MS : ttlIn(o.tombstoneTtl, 'queue.tombstone_ttl', TOMBSTONE_TTL_RANGE);
  const type = o.type === undefined || o.type === 'TYPE_UNSPECIFIED' ? 'PUSH' : (o.type as 'PUSH' | 'PULL');
  if (!creating && type !== previousType) throw invalidArgument('Queue.type is immutable: it cannot be changed after the queue is created.');
  q.type = type;
  if (q.type === 'PULL' && (q.httpTarget || q.appEngineRoutingOverride))
    throw invalidArgument('A PULL queue cannot have an HTTP target or an App Engine routing override.');
}

/** Apply a (v2-shaped, camelCase) Queue body to a config: the mask's paths, or every field the body sets. */
export function applyQueueBody(
  q: QueueConfig,
  body: Record<string, unknown>,
  mask?: string[],
  creating = false,
  maxRate = MAX_DISPATCHES_PER_SECOND,
): QueueConfig {
  const fields = fieldsOf(body);
  const paths = mask ?? [...ALL_PATHS.filter((p) => fields[p] !== undefined), ...OBJECT_ROOTS.filter((p) => body[p] !== undefined)];
  const next: QueueConfig = structuredClone(q);
  for (const p of paths) {
    if (OBJECT_ROOTS.includes(p.split('.')[0]!)) setPath(next.objects, p.split('.'), getPath(body, p.split('.')));
    else setField(next, p, fields[p]);
  }
  applyObjects(next, creating, q.type);
  validateQueue(next, maxRate);
  return next;
}

/** maxRate: the emulator's cap on the dispatch rate (EMULATOR_MAX_RATE), Cloud Tasks' 500 unless raised. */
export function validateQueue(q: QueueConfig, maxRate = MAX_DISPATCHES_PER_SECOND): void {
  const { rateLimits: r, retryConfig: c } = q;
  if (r.maxDispatchesPerSecond <= 0 || r.maxDispatchesPerSecond > maxRate) {
    throw invalidArgument(`rate_limits.max_dispatches_per_second must be in (0, ${maxRate}]`);
  }
  if (!Number.isInteger(r.maxConcurrentDispatches) || r.maxConcurrentDispatches < 1 || r.maxConcurrentDispatches > MAX_CONCURRENT_DISPATCHES) {
    throw invalidArgument(`rate_limits.max_concurrent_dispatches must be in [1, ${MAX_CONCURRENT_DISPATCHES}]`);
  }
  if (!Number.isInteger(c.maxAttempts) || c.maxAttempts < -1) throw invalidArgument('retry_config.max_attempts must be -1 (unlimited) or positive');
  if (c.maxRetryDurationMs < 0 || c.minBackoffMs < 0 || c.maxBackoffMs < 0) throw invalidArgument('retry_config durations must not be negative');
  if (c.minBackoffMs > c.maxBackoffMs) throw invalidArgument('retry_config.min_backoff must not be greater than retry_config.max_backoff');
  if (!Number.isInteger(c.maxDoublings) || c.maxDoublings < 0) throw invalidArgument('retry_config.max_doublings must not be negative');
}

/** The Queue resource as the REST API of `version` returns it (proto3 JSON: zero values omitted). */
export function queueToJson(q: QueueConfig, enumsAsInt: boolean, version: ApiVersion = 'v2', stats?: Record<string, unknown>): Record<string, unknown> {
  const c = q.retryConfig;
  const retryConfig: Record<string, unknown> = {
    maxAttempts: c.maxAttempts,
    minBackoff: formatDuration(c.minBackoffMs),
    maxBackoff: formatDuration(c.maxBackoffMs),
    maxDoublings: c.maxDoublings,
  };
  if (c.maxRetryDurationMs > 0) retryConfig.maxRetryDuration = formatDuration(c.maxRetryDurationMs);
  const out: Record<string, unknown> = {
    name: q.name,
    rateLimits: { ...q.rateLimits },
    retryConfig,
    state: queueStateEnum.format(q.state, enumsAsInt),
  };
  if (q.purgeTime !== undefined) out.purgeTime = formatTimestamp(q.purgeTime);
  if (q.stackdriverLoggingConfig) out.stackdriverLoggingConfig = { ...q.stackdriverLoggingConfig };
  if (q.httpTarget) out.httpTarget = httpTargetToJson(q.httpTarget, enumsAsInt);
  if (q.appEngineRoutingOverride) {
    const project = q.name.split('/')[1]!;
    const routing = { ...q.appEngineRoutingOverride, host: appEngineHost(project, q.appEngineRoutingOverride) };
    if (version === 'v2') out.appEngineRoutingOverride = routing;
    else out.appEngineHttpQueue = { appEngineRoutingOverride: routing };
  }
  if (version === 'v2beta3') {
    out.taskTtl = formatDuration(q.taskTtlMs);
    out.tombstoneTtl = formatDuration(q.tombstoneTtlMs);
    out.type = enumsAsInt ? (q.type === 'PULL' ? 1 : 2) : q.type;
    if (stats) out.stats = stats;
  }
  return out;
}
