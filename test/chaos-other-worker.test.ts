// The chaos run's "jobs on the other worker unaffected" check
// (bench/chaos-other-worker.ts), on hand-made runs: it must see a run on the
// other worker that never ended or that the ledger recorded as something other
// than what the job returned, and must not blame the kill for runs outside its
// window, on the killed worker, or whose own worker died too.
import t from 'tap';
import { FINISH_GRACE_MS, type KillEvent, otherWorkerCheck, type Run } from '../bench/chaos-other-worker.ts';

const KILLED = 100;
const OTHER = 200;
const kill: KillEvent = { at: 1_000, other: OTHER, backAt: 3_000 };
const run = (over: Partial<Run> & { run: string }): Run => ({ pid: OTHER, tier: 0, attempt: 1, start: 900, end: 1_100, returned: 'succeeded', ...over });

function check(runs: Record<string, Run[]>, outcomes: Record<string, string> = {}, deaths: Array<{ pid: number; at: number }> = [], kills = [kill]) {
  return otherWorkerCheck({
    kills,
    runs: new Map(Object.entries(runs)),
    deaths,
    outcome: (id, tier, attempt) => outcomes[`${id}:${tier}/${attempt}`],
    now: 10_000,
  });
}

t.test('runs on the other worker that ended as they returned are unaffected', async (t) => {
  const r = check(
    {
      a: [run({ run: 'a1' })], // in progress at the kill
      b: [run({ run: 'b1', start: 2_000, end: 2_100, returned: 'retryable' })], // began while worker 0 was down
      c: [run({ run: 'c1', tier: 2, attempt: 2, start: 2_500, end: 2_600, returned: 'retryable' })],
      d: [run({ run: 'd1', start: 2_900, end: 3_500, returned: 'permanent' })],
    },
    { 'a:0/1': 'succeeded', 'b:0/1': 'retry', 'c:2/2': 'failed', 'd:0/1': 'failed' },
  );
  t.same(r, { runs: 4, affected: 0, diedWithTheirOwnWorker: 0, details: [] });
});

t.test('a run on the other worker that never reported its end is affected', async (t) => {
  const r = check({ a: [run({ run: 'a1', end: undefined, returned: undefined })] }, { 'a:0/1': 'succeeded' });
  t.equal(r.runs, 1);
  t.equal(r.affected, 1);
  t.match(r.details[0], /no end reported/);
});

t.test('a run the ledger recorded as crashed, running, missing or otherwise than returned is affected', async (t) => {
  const r = check(
    {
      a: [run({ run: 'a1' })],
      b: [run({ run: 'b1' })],
      c: [run({ run: 'c1' })],
      d: [run({ run: 'd1', returned: 'permanent' })],
    },
    { 'a:0/1': 'crashed', 'b:0/1': 'running', 'd:0/1': 'retry' },
  );
  t.equal(r.runs, 4);
  t.equal(r.affected, 4);
  t.match(r.details.join('\n'), /ledger crashed[\s\S]*ledger running[\s\S]*ledger no attempt[\s\S]*returned permanent, ledger retry/);
});

t.test('runs outside the window, on the killed worker, or on no other worker are not counted', async (t) => {
  const r = check(
    {
      before: [run({ run: 'x1', start: 100, end: 900 })], // ended before the kill
      after: [run({ run: 'x2', start: 3_100, end: 3_200 })], // began after worker 0 was back
      killed: [run({ run: 'x3', pid: KILLED, end: undefined })], // the killed worker's own job
    },
    {},
  );
  t.same(r, { runs: 0, affected: 0, diedWithTheirOwnWorker: 0, details: [] });
  const none = check({ a: [run({ run: 'a1', end: undefined })] }, {}, [], [{ at: 1_000 }]);
  t.equal(none.runs + none.affected, 0, 'the other worker was itself down at the kill');
});

t.test('a run whose own worker died during it is counted apart, not as affected', async (t) => {
  const r = check({ a: [run({ run: 'a1', end: undefined, returned: undefined })] }, { 'a:0/1': 'crashed' }, [{ pid: OTHER, at: 1_050 }]);
  t.same(r, { runs: 0, affected: 0, diedWithTheirOwnWorker: 1, details: [] });
});

t.test('a run that ended but whose worker died before its outcome was committed is the death of its own worker', async (t) => {
  // Seen in the first 300-task run: the poison job killed the other worker while its finishes waited on Firestore.
  const r = check({ a: [run({ run: 'a1' })] }, { 'a:0/1': 'crashed' }, [{ pid: OTHER, at: 1_100 + 30_000 }]);
  t.same(r, { runs: 0, affected: 0, diedWithTheirOwnWorker: 1, details: [] });
});

t.test('a worker death long after the run does not excuse a crashed record, nor spoil a good one', async (t) => {
  const late = [{ pid: OTHER, at: 1_100 + FINISH_GRACE_MS + 1 }];
  const crashed = check({ a: [run({ run: 'a1' })] }, { 'a:0/1': 'crashed' }, late);
  t.equal(crashed.affected, 1, 'its outcome should have been committed long before');
  const good = check({ a: [run({ run: 'a1' })] }, { 'a:0/1': 'succeeded' }, [{ pid: OTHER, at: 1_200 }]);
  t.same(good, { runs: 1, affected: 0, diedWithTheirOwnWorker: 0, details: [] }, 'recorded as returned before its worker died');
});

t.test('a run seen by two kills is counted once', async (t) => {
  const r = check({ a: [run({ run: 'a1', start: 900, end: 5_500 })] }, { 'a:0/1': 'succeeded' }, [], [kill, { at: 5_000, other: OTHER, backAt: 6_000 }]);
  t.equal(r.runs, 1);
});
