// The polling loop behind Result.watch and JobResult.watch: look, and either
// end (a value or a throw from `look`), give up at the deadline, or wait one
// interval; an abort ends the wait at once with the signal's reason.

export interface PollOptions {
  /** Between looks; default 500 ms. */
  intervalMs?: number;
  /** Give up after this long; default: never. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Calls `look` until it returns something other than undefined and resolves
 * with that; rejects with what `look` throws, with `timedOut()` once
 * `timeoutMs` has passed, or with the signal's reason when it aborts.
 */
export async function pollUntil<T>(opts: PollOptions, look: () => Promise<T | undefined>, timedOut: () => Error): Promise<T> {
  const interval = opts.intervalMs ?? 500;
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  for (;;) {
    opts.signal?.throwIfAborted();
    const value = await look();
    if (value !== undefined) return value;
    const left = deadline - Date.now();
    if (left <= 0) throw timedOut();
    await sleep(Math.min(interval, left), opts.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
