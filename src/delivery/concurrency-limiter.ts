/** Counts jobs running in this process against MAX_CONCURRENCY. */
export class ConcurrencyLimiter {
  readonly max: number;
  #running = 0;

  constructor(max: number) {
    this.max = max;
  }

  get running(): number {
    return this.#running;
  }

  tryAcquire(): boolean {
    if (this.#running >= this.max) return false;
    this.#running++;
    return true;
  }

  release(): void {
    if (this.#running > 0) this.#running--;
  }
}
