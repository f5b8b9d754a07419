// How the chaos run decides it is over: every lineage ended and notified, or
// nothing moved for a long time. A fixed deadline after the enqueue called
// slow lineages "stuck" (or "lost") on a loaded machine: a worker killed in
// the middle of a Firestore transaction leaves that lineage's document locked
// until Firestore releases the dead transaction's locks (60 s idle; measured
// 61 s on the emulator), and worker restarts under a CPU busy-loop took tens
// of seconds. Slow is not stuck: this waits as long as some pending lineage
// still changes, and gives up only after `stallMs` without any change.

export interface SettleOptions {
  ids: readonly string[];
  /** The lineage's current state: `done` once ended and notified; `mark` changes whenever it progresses. */
  poll(id: string): Promise<{ done: boolean; mark: string }>;
  /** Give up after this long without any pending lineage changing. */
  stallMs: number;
  /** Pause between rounds. */
  intervalMs: number;
  /** A bound on the whole wait, for a lineage that changes for ever (a retry loop). */
  maxMs?: number;
  report?: (pending: string[], msSinceProgress: number) => void;
  /** Injected for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface SettleResult {
  /** Lineages not ended and notified when the wait ended (empty when settled). */
  pending: string[];
  /** Why the wait ended. */
  reason: 'settled' | 'stalled' | 'max';
}

export async function settle(opts: SettleOptions): Promise<SettleResult> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = now();
  let lastProgress = started;
  const marks = new Map<string, string>();
  let pending = [...opts.ids];
  for (;;) {
    const still: string[] = [];
    for (const id of pending) {
      const { done, mark } = await opts.poll(id);
      if (done || marks.get(id) !== mark) lastProgress = now();
      marks.set(id, mark);
      if (!done) still.push(id);
    }
    pending = still;
    if (pending.length === 0) return { pending, reason: 'settled' };
    const since = now() - lastProgress;
    if (since >= opts.stallMs) return { pending, reason: 'stalled' };
    if (opts.maxMs !== undefined && now() - started >= opts.maxMs) return { pending, reason: 'max' };
    opts.report?.(pending, since);
    await sleep(opts.intervalMs);
  }
}
