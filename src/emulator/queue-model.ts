// A queue's configuration: defaults Cloud Tasks returns on create, validation,
// updateMask handling and the JSON the REST API returns.
import { invalidArgument } from './google-error.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { formatDuration, formatTimestamp, parseDuration, queueStateEnum, type QueueState } from './wire.ts';

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
}

export const MAX_DISPATCHES_PER_SECOND = 500;
export const MAX_CONCURRENT_DISPATCHES = 5000;

/**
 * Cloud Tasks picks maxBurstSize from the rate and does not document how; the
 * default queue (500/s) reports 100. The emulator uses rate/5 within [1, 100].
 */
export function burstFor(rate: number): number {
  return Math.max(1, Math.min(100, Math.ceil(rate / 5)));
}

export function defaultQueue(name: string): QueueConfig {
  return {
    name,
    rateLimits: { maxDispatchesPerSecond: 500, maxBurstSize: 100, maxConcurrentDispatches: 1000 },
    retryConfig: { maxAttempts: 100, maxRetryDurationMs: 0, minBackoffMs: 100, maxBackoffMs: 3_600_000, maxDoublings: 16 },
    state: 'RUNNING',
  };
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

const snakeToCamel = (s: string): string => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** updateMask "a.b,c" in snake_case (Node client) or camelCase (gcloud) -> leaf paths. */
export function parseUpdateMask(mask: unknown): string[] | undefined {
  if (mask === undefined || mask === '') return undefined;
  const raw = Array.isArray(mask) ? mask.join(',') : String(mask);
  const out: string[] = [];
  for (const part of raw.split(',').map((p) => snakeToCamel(p.trim())).filter(Boolean)) {
    if (part === 'rateLimits.maxBurstSize' || part === 'name' || part === 'state' || part === 'purgeTime') continue; // output only
    const leaves = ALL_PATHS.filter((p) => p === part || p.startsWith(`${part}.`));
    if (leaves.length === 0) throw invalidArgument(`Invalid update mask path: ${part}`);
    out.push(...leaves);
  }
  return out;
}

/** Apply a Queue body to a config: the mask's paths, or every field the body sets. */
export function applyQueueBody(q: QueueConfig, body: Record<string, unknown>, mask?: string[]): QueueConfig {
  const fields = fieldsOf(body);
  const paths = mask ?? ALL_PATHS.filter((p) => fields[p] !== undefined);
  const next: QueueConfig = structuredClone(q);
  for (const p of paths) setField(next, p, fields[p]);
  validateQueue(next);
  return next;
}

export function validateQueue(q: QueueConfig): void {
  const { rateLimits: r, retryConfig: c } = q;
  if (r.maxDispatchesPerSecond <= 0 || r.maxDispatchesPerSecond > MAX_DISPATCHES_PER_SECOND) {
    throw invalidArgument(`rate_limits.max_dispatches_per_second must be in (0, ${MAX_DISPATCHES_PER_SECOND}]`);
  }
  if (!Number.isInteger(r.maxConcurrentDispatches) || r.maxConcurrentDispatches < 1 || r.maxConcurrentDispatches > MAX_CONCURRENT_DISPATCHES) {
    throw invalidArgument(`rate_limits.max_concurrent_dispatches must be in [1, ${MAX_CONCURRENT_DISPATCHES}]`);
  }
  if (!Number.isInteger(c.maxAttempts) || c.maxAttempts < -1) throw invalidArgument('retry_config.max_attempts must be -1 (unlimited) or positive');
  if (c.maxRetryDurationMs < 0 || c.minBackoffMs < 0 || c.maxBackoffMs < 0) throw invalidArgument('retry_config durations must not be negative');
  if (c.minBackoffMs > c.maxBackoffMs) throw invalidArgument('retry_config.min_backoff must not be greater than retry_config.max_backoff');
  if (!Number.isInteger(c.maxDoublings) || c.maxDoublings < 0) throw invalidArgument('retry_config.max_doublings must not be negative');
}

/** The Queue resource as the REST API returns it (proto3 JSON: zero values omitted). */
export function queueToJson(q: QueueConfig, enumsAsInt: boolean): Record<string, unknown> {
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
  return out;
}
