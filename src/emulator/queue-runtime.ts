// The live state of one queue: its config, its tasks in creation order, the
// waiting ones by due time, the names still tombstoned, and the dispatch limiter.
// A task lives at most the queue's taskTtl from its creation; a removed task's
// name stays taken for the queue's tombstoneTtl.

import type { TimerHandle } from './clock.ts';
import { DueHeap } from './due-heap.ts';
import type { QueueConfig } from './queue-model.ts';
import type { TaskRecord } from './task-model.ts';
import { TokenBucket } from './token-bucket.ts';

export class QueueRuntime {
  config: QueueConfig;
  readonly tasks = new Map<string, TaskRecord>();
  /** Push tasks waiting for their next dispatch (not in flight), by scheduleTime. */
  readonly due = new DueHeap();
  /** Task id -> time until which the name cannot be reused. */
  readonly tombstones = new Map<string, number>();
  readonly bucket: TokenBucket;
  /** Pushes from this queue awaiting a response. */
  inFlight = 0;
  wakeTimer?: TimerHandle;
  wakeAt?: number;
  deleted = false;

  /** The tombstone TTL of a queue that does not set tombstoneTtl (the emulator's tombstoneMs, default 1 h). */
  readonly #defaultTombstoneMs: number;

  constructor(config: QueueConfig, now: number, defaultTombstoneMs: number) {
    this.config = config;
    this.#defaultTombstoneMs = defaultTombstoneMs;
    this.bucket = new TokenBucket(config.rateLimits.maxDispatchesPerSecond, config.rateLimits.maxBurstSize, now);
  }

  /** The short queue id (X-CloudTasks-QueueName). */
  get id(): string {
    return this.config.name.slice(this.config.name.lastIndexOf('/') + 1);
  }

  setConfig(config: QueueConfig, now: number): void {
    this.config = config;
    this.bucket.configure(config.rateLimits.maxDispatchesPerSecond, config.rateLimits.maxBurstSize, now);
  }

  /** Add a new (or restored) task; push tasks wait in the due heap from now on. */
  addTask(t: TaskRecord): void {
    this.tasks.set(t.id, t);
    if (!t.pullMessage && t.inFlight === 0) this.due.schedule(t);
  }

  /** How long a removed task's name stays taken: the queue's tombstoneTtl, if it set one. */
  get tombstoneTtlMs(): number {
    return this.config.objects.tombstoneTtl === undefined ? this.#defaultTombstoneMs : this.config.tombstoneTtlMs;
  }

  /** Remove a task for good (done, exhausted, deleted, purged or expired); its name stays taken for tombstoneTtlMs. */
  removeTask(id: string, now: number): void {
    const t = this.tasks.get(id);
    if (t !== undefined) this.due.remove(t);
    this.tasks.delete(id);
    this.tombstones.set(id, now + this.tombstoneTtlMs);
  }

  /**
   * Delete the tasks that have lived for the queue's taskTtl, dispatched or
   * not, as Cloud Tasks does. The map keeps creation order and every task of
   * the queue has the same TTL, so the expired ones are at its front: a call
   * that finds none costs one comparison, and every read of the queue can
   * afford it (expiry needs no timer: nothing observes a task but through the
   * queue). Returns how many went.
   */
  expireTasks(now: number): number {
    const ttl = this.config.taskTtlMs;
    let n = 0;
    for (const t of this.tasks.values()) {
      if (t.createTime + ttl > now) break;
      this.removeTask(t.id, t.createTime + ttl);
      n++;
    }
    return n;
  }

  isNameTaken(id: string, now: number): boolean {
    if (this.tasks.has(id)) return true;
    const until = this.tombstones.get(id);
    if (until === undefined) return false;
    if (until > now) return true;
    this.tombstones.delete(id);
    return false;
  }
}
