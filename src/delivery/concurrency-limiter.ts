/**
 * Counts jobs running in this process against MAX_CONCURRENCY. A final
 * attempt may run within a bounded overflow above it (10%, at least 1), so a
 * busy worker does not end a lineage for being busy; past it, it is refused
 * too (429, not counted) and Cloud Tasks retries later.
 */
export class ConcurrencyLimiter {
  readonly max: number;
  readonly overflow: number;
  #running = 0;

  constructor(max: number, overflow = Math.max(1, Math.ceil(max / 10))) {
    this.max = max;
    this.overflow = overflow;
  }

  get running(): number {
    return this.#running;
  }

  tryAcquire(final = false): boolean {
    if (this.#running >= this.max + (final ? this.overflow : 0)) return false;
    this.#running++;
    return true;
  }

  release(): void {
    if (this.#running > 0) this.#running--;
  }
}
