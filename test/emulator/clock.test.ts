import t from 'tap';
import { ManualClock, realClock } from '../../src/emulator/clock.ts';
import { TokenBucket } from '../../src/emulator/token-bucket.ts';

t.test('a manual clock fires due timers in order, each at its own due time', async (t) => {
  const clock = new ManualClock(1000);
  const seen: Array<[string, number]> = [];
  clock.setTimeout(() => seen.push(['b', clock.now()]), 200);
  clock.setTimeout(() => seen.push(['a', clock.now()]), 100);
  const c = clock.setTimeout(() => seen.push(['c', clock.now()]), 150);
  clock.clearTimeout(c);
  clock.setTimeout(() => seen.push(['late', clock.now()]), 1000);
  clock.advance(500);
  t.same(seen, [
    ['a', 1100],
    ['b', 1200],
  ]);
  t.equal(clock.now(), 1500);
  t.equal(clock.pending(), 1);
});

t.test('a timer set by a firing timer fires in the same advance when due', async (t) => {
  const clock = new ManualClock(0);
  const seen: number[] = [];
  clock.setTimeout(() => {
    seen.push(clock.now());
    clock.setTimeout(() => seen.push(clock.now()), 50);
  }, 10);
  clock.advance(100);
  t.same(seen, [10, 60]);
});

t.test('the token bucket allows a burst, then refills at the rate', async (t) => {
  const b = new TokenBucket(10, 2, 0);
  t.ok(b.tryTake(0));
  t.ok(b.tryTake(0));
  t.notOk(b.tryTake(0));
  t.equal(b.msUntilToken(0), 100);
  t.ok(b.tryTake(100));
  t.notOk(b.tryTake(150));
  t.ok(b.tryTake(10_000));
  t.ok(b.tryTake(10_000), 'refills up to the burst only');
  t.notOk(b.tryTake(10_000));
});

t.test('the real clock cuts a wait beyond what Node timers hold instead of firing it at once', async (t) => {
  // Without the cut Node runs a 2^31 ms (24.8 days) or longer timer after 1 ms with a
  // TimeoutOverflowWarning: a task scheduled 30 days ahead woke its queue every millisecond.
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  let fired = false;
  const handle = realClock.setTimeout(
    () => {
      fired = true;
    },
    29 * 24 * 3600 * 1000,
  );
  await new Promise((r) => setTimeout(r, 20));
  realClock.clearTimeout(handle);
  process.off('warning', onWarning);
  t.same(warnings, [], 'no TimeoutOverflowWarning');
  t.equal(fired, false, 'not run early');
});
