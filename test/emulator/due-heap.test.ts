// The due-time heap behind the dispatcher: order, ties, rescheduling and removal.
import t from 'tap';
import { DueHeap } from '../../src/emulator/due-heap.ts';
import type { TaskRecord } from '../../src/emulator/task-model.ts';

const task = (id: string, scheduleTime: number) => ({ id, scheduleTime }) as TaskRecord;

function drain(h: DueHeap, now: number): string[] {
  const out: string[] = [];
  for (let x = h.popDue(now); x !== undefined; x = h.popDue(now)) out.push(x.id);
  return out;
}

t.test('tasks leave in due order, ties in the order they were queued, only once due', async (t) => {
  const h = new DueHeap();
  for (const [id, at] of [
    ['c', 30],
    ['a', 10],
    ['b1', 20],
    ['d', 40],
    ['b2', 20],
  ] as const)
    h.schedule(task(id, at));
  t.equal(h.peekAt(), 10);
  t.same(drain(h, 25), ['a', 'b1', 'b2'], 'only what is due at 25');
  t.equal(h.peekAt(), 30, 'the next wake-up');
  t.same(drain(h, 100), ['c', 'd']);
  t.equal(h.size, 0);
  t.equal(h.peekAt(), undefined);
});

t.test('a rescheduled task leaves once, at its new time; a removed one never', async (t) => {
  const h = new DueHeap();
  const a = task('a', 10);
  const b = task('b', 20);
  h.schedule(a);
  h.schedule(b);
  a.scheduleTime = 50;
  h.schedule(a);
  h.remove(b);
  t.equal(h.size, 1);
  t.equal(h.peekAt(), 50, 'the stale entries of a and b are not wake-ups');
  t.same(drain(h, 40), []);
  t.same(drain(h, 50), ['a']);
  t.same(drain(h, 1000), [], 'no second copy of a');
});

t.test('100,000 tasks queued in random order come out sorted, with churn compacted away', async (t) => {
  const h = new DueHeap();
  const tasks = Array.from({ length: 100_000 }, (_, i) => task(String(i), (i * 7919) % 100_000));
  for (const x of tasks) h.schedule(x);
  // Reschedule every other task a few times: stale entries pile up and are rebuilt away.
  for (let round = 0; round < 3; round++)
    for (let i = 0; i < tasks.length; i += 2) {
      tasks[i]!.scheduleTime += 1;
      h.schedule(tasks[i]!);
    }
  t.equal(h.size, 100_000);
  const out: number[] = [];
  for (let x = h.popDue(Infinity); x !== undefined; x = h.popDue(Infinity)) out.push(x.scheduleTime);
  t.equal(out.length, 100_000, 'each task exactly once');
  t.ok(
    out.every((v, i) => i === 0 || out[i - 1]! <= v),
    'in due order',
  );
});

t.test('clear drops everything', async (t) => {
  const h = new DueHeap();
  h.schedule(task('a', 1));
  h.clear();
  t.equal(h.size, 0);
  t.same(drain(h, 10), []);
});
