// The queue's dispatch rate limiter: a bucket of maxBurstSize tokens refilled
// continuously at maxDispatchesPerSecond, one token per dispatch.

export class TokenBucket {
  #tokens: number;
  #updatedAt: number;
  rate: number;
  burst: number;

  constructor(rate: number, burst: number, now: number) {
    this.rate = rate;
    this.burst = burst;
    this.#tokens = burst;
    this.#updatedAt = now;
  }

  /** Change the limits (queue update); keeps the tokens already earned, capped at the new burst. */
  configure(rate: number, burst: number, now: number): void {
    this.#refill(now);
    this.rate = rate;
    this.burst = burst;
    this.#tokens = Math.min(this.#tokens, burst);
  }

  tryTake(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whole tokens available now. */
  available(now: number): number {
    this.#refill(now);
    return Math.floor(this.#tokens);
  }

  /** Milliseconds until one whole token is available. */
  msUntilToken(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) return 0;
    return Math.ceil(((1 - this.#tokens) / this.rate) * 1000);
  }

  #refill(now: number): void {
    if (now > this.#updatedAt) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.rate);
      this.#updatedAt = now;
    }
  }
}
