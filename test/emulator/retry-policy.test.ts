import t from 'tap';
import { backoffMs, type RetryPolicy, retriesExhausted, retryAfterMs } from '../../src/emulator/retry-policy.ts';

const policy = (p: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maxAttempts: 100,
  maxRetryDurationMs: 0,
  minBackoffMs: 10_000,
  maxBackoffMs: 300_000,
  maxDoublings: 3,
  ...p,
});

t.test('backoff doubles maxDoublings times, then grows linearly, capped at maxBackoff', async (t) => {
  const gaps = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(policy(), n) / 1000);
  t.same(gaps, [10, 20, 40, 80, 160, 240, 300, 300]);
});

t.test('backoff with the defaults starts at 0.1 s', async (t) => {
  const p = policy({ minBackoffMs: 100, maxBackoffMs: 3_600_000, maxDoublings: 16 });
  t.equal(backoffMs(p, 1), 100);
  t.equal(backoffMs(p, 2), 200);
  t.equal(backoffMs(p, 30), 3_600_000);
});

t.test('retries stop only when both maxAttempts and maxRetryDuration are reached', async (t) => {
  const p = policy({ maxAttempts: 3, maxRetryDurationMs: 60_000 });
  t.notOk(retriesExhausted(p, 3, 59_999), 'attempts used up but duration not');
  t.notOk(retriesExhausted(p, 2, 120_000), 'duration used up but attempts not');
  t.ok(retriesExhausted(p, 3, 60_000));
  t.ok(retriesExhausted(policy({ maxAttempts: 3 }), 3, 0), 'zero duration means attempts alone decide');
  t.notOk(retriesExhausted(policy({ maxAttempts: -1, maxRetryDurationMs: 1 }), 10_000, 1e9), '-1 attempts never stops');
});

t.test('Retry-After is read as seconds or as an HTTP date', async (t) => {
  t.equal(retryAfterMs('30', 0), 30_000);
  t.equal(retryAfterMs(new Date(90_000).toUTCString(), 30_000), 60_000);
  t.equal(retryAfterMs('soon', 0), undefined);
  t.equal(retryAfterMs(undefined, 0), undefined);
});
