// The chaos run's end condition (bench/chaos-settle.ts): slow is not stuck.
// A lineage that keeps moving is waited for however long it takes; one that
// stops moving is reported once nothing changed for stallMs. The old fixed
// deadline (90 s after the enqueue) reported lineages as lost that a killed
// worker's Firestore lock (60 s) and worker restarts under load only delayed.
import t from 'tap';
import { settle } from '../bench/chaos-settle.ts';

/** A fake clock: sleep() moves it; no real time passes. */
function fakeTime() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

t.test('a lineage that moves slowly, past any fixed deadline, is waited for', async (t) => {
  const time = fakeTime();
  // Each lineage advances one step every 50 s of fake time and is done after 20 steps (1,000 s).
  const step = (id: string) => Math.floor(time.now() / 50_000) + (id === 'b' ? 0 : 5);
  const result = await settle({
    ids: ['a', 'b'],
    poll: async (id) => ({ done: step(id) >= 20, mark: String(step(id)) }),
    stallMs: 120_000,
    intervalMs: 2000,
    ...time,
  });
  t.same(result, { pending: [], reason: 'settled' });
  t.ok(time.now() >= 1_000_000, 'it waited for the slow lineage to end');
});

t.test('a lineage that stops moving is reported after stallMs without change', async (t) => {
  const time = fakeTime();
  const seen: number[] = [];
  const result = await settle({
    ids: ['moves', 'stuck'],
    // 'moves' ends at 100 s; 'stuck' keeps the same mark for ever.
    poll: async (id) => (id === 'stuck' ? { done: false, mark: 'same' } : { done: time.now() >= 100_000, mark: String(time.now()) }),
    stallMs: 120_000,
    intervalMs: 2000,
    report: (pending) => seen.push(pending.length),
    ...time,
  });
  t.same(result, { pending: ['stuck'], reason: 'stalled' });
  t.ok(time.now() >= 220_000, 'the stall is counted from the last change of any pending lineage');
  t.equal(seen.at(-1), 1, 'the report names what is still pending');
});

t.test('a lineage that changes for ever ends the wait at maxMs', async (t) => {
  const time = fakeTime();
  const result = await settle({
    ids: ['loop'],
    poll: async () => ({ done: false, mark: String(time.now()) }),
    stallMs: 120_000,
    intervalMs: 2000,
    maxMs: 600_000,
    ...time,
  });
  t.same(result, { pending: ['loop'], reason: 'max' });
});
