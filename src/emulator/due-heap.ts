// A queue's waiting tasks ordered by due time (a binary min-heap), so a pump
// looks at the tasks it dispatches and the next one due, never at the whole
// backlog. Entries are invalidated lazily: a task rescheduled, dispatched or
// removed keeps its old entry in the array, and the entry is dropped when it
// reaches the top (or when stale entries outnumber live ones, by a rebuild).
import type { TaskRecord } from './task-model.ts';

interface Entry {
  task: TaskRecord;
  at: number;
  /** Push order: tasks due at the same time leave in the order they were queued. */
  seq: number;
}

const before = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

export class DueHeap {
  #heap: Entry[] = [];
  /** Each waiting task's one live entry; anything else in #heap is stale. */
  readonly #live = new Map<TaskRecord, Entry>();
  #seq = 0;

  /** Tasks waiting (live entries). */
  get size(): number {
    return this.#live.size;
  }

  /** Queue t at its scheduleTime, replacing any earlier entry of it. */
  schedule(t: TaskRecord): void {
    const e: Entry = { task: t, at: t.scheduleTime, seq: this.#seq++ };
    this.#live.set(t, e);
    this.#push(e);
    if (this.#heap.length > 1024 && this.#heap.length > 2 * this.#live.size) this.#rebuild();
  }

  has(t: TaskRecord): boolean {
    return this.#live.has(t);
  }

  /** t no longer waits (dispatched, removed). */
  remove(t: TaskRecord): void {
    this.#live.delete(t);
  }

  clear(): void {
    this.#heap = [];
    this.#live.clear();
  }

  /** The earliest live entry's due time, undefined when nothing waits. */
  peekAt(): number | undefined {
    this.#dropStale();
    return this.#heap[0]?.at;
  }

  /** Take the earliest task if it is due at `now`. */
  popDue(now: number): TaskRecord | undefined {
    this.#dropStale();
    const top = this.#heap[0];
    if (top === undefined || top.at > now) return undefined;
    this.#pop();
    this.#live.delete(top.task);
    return top.task;
  }

  #dropStale(): void {
    while (this.#heap.length > 0) {
      const top = this.#heap[0]!;
      if (this.#live.get(top.task) === top) return;
      this.#pop();
    }
  }

  #rebuild(): void {
    this.#heap = [...this.#live.values()].sort((a, b) => (before(a, b) ? -1 : 1));
  }

  #push(e: Entry): void {
    const h = this.#heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
