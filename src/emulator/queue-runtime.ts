// The live state of one queue: its config, its tasks in creation order, the
// waiting ones by due time, the names still tombstoned, and the dispatch limiter.

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

  constructor(config: QueueConfig, now: number) {
    this.config = config;
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

  /** Remove a task for good (done, exhausted, deleted or purged); its name stays taken for tombstoneMs. */
  removeTask(id: string, now: number, tombstoneMs: number): void {
    const t = this.tasks.get(id);
    if (t !== undefined) this.due.remove(t);
    this.tasks.delete(id);
    this.tombstones.set(id, now + tombstoneMs);
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
