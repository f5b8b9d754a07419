// Cloud Tasks' retry arithmetic as pure functions (CLOUD-TASKS.md "Retries").

export interface RetryPolicy {
  /** Counts the first attempt; -1 = unlimited. */
  maxAttempts: number;
  /** 0 = unlimited. Measured from the first attempt's dispatch. */
  maxRetryDurationMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  maxDoublings: number;
}

/** Delay before retry n (n >= 1): min(max, min * 2^min(n-1, d) * max(1, n-d)). */
export function backoffMs(policy: RetryPolicy, n: number): number {
  const d = policy.maxDoublings;
  const delay = policy.minBackoffMs * 2 ** Math.min(n - 1, d) * Math.max(1, n - d);
  return Math.min(policy.maxBackoffMs, delay);
}

/**
 * Retrying stops only when BOTH limits are reached. Unlimited attempts (-1) are
 * never reached, so such a task retries forever whatever its duration limit.
 */
export function retriesExhausted(policy: RetryPolicy, attempts: number, sinceFirstAttemptMs: number): boolean {
  const attemptsReached = policy.maxAttempts !== -1 && attempts >= policy.maxAttempts;
  const durationReached = policy.maxRetryDurationMs === 0 || sinceFirstAttemptMs >= policy.maxRetryDurationMs;
  return attemptsReached && durationReached;
}

/** Retry-After as delta seconds or an HTTP date; undefined when absent or garbled. */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
