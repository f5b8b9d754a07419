// The emulator's only source of time. Dispatch, backoff, deadlines and token
// refills all go through it, so tests drive time with a ManualClock and never sleep.

export type TimerHandle = unknown;

export interface EmulatorClock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Node's setTimeout takes at most 2^31-1 ms (24.8 days) and runs anything longer
 * after 1 ms; a task may be scheduled 30 days ahead, so longer waits are cut to
 * this and the woken pump arms the rest.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const realClock: EmulatorClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.min(MAX_TIMER_MS, Math.max(0, ms)));
    // The HTTP server keeps the process alive; pending retries must not.
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface ManualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/** A clock that only moves when told to; timers fire in due order inside advance(). */
export class ManualClock implements EmulatorClock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, ManualTimer>();

  constructor(startMs: number = Date.now()) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** Number of timers not yet fired. */
  pending(): number {
    return this.#timers.size;
  }

  /** Move time forward by ms, firing every timer that falls due, earliest first, at its due time. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#timers.values()) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      }
      if (!next) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = target;
  }
}
