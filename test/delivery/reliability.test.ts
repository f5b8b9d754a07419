// Never lose: fault injection at every crash point of a delivery, through the
// backends' interfaces (a ledger that "dies" right after or right before a
// write, a notifier or queue that "dies" after sending). A crashed process is
// a new app over the same ledger, as a restarted instance over Firestore.
// Also: one run per delivery (the lease), poison tasks, the sweep.

import pino from 'pino';
import t from 'tap';
import { startOutboxSweep } from '../../src/delivery/outbox-sweep.ts';
import type { AttemptLedger, CloudEvent, FinishInput, Notifier, NotifyTarget } from '../../src/interfaces.ts';
import { createMemoryLedger } from '../../src/ledger/memory-ledger.ts';
import { manualClock, RecordingQueue } from '../helpers/doubles.ts';
import { harness, retryHeaders } from './app-harness.ts';

class ProcessDied extends Error {}

/** A ledger whose finish() "kills the process" after (or before) its write. */
function dyingLedger(inner: AttemptLedger, when: 'after-write' | 'before-write', outcomes: FinishInput['outcome'][]): AttemptLedger & { armed: boolean } {
  const l = Object.create(inner) as AttemptLedger & { armed: boolean };
  l.armed = true;
  l.finish = async (input) => {
    if (!l.armed || !outcomes.includes(input.outcome)) return inner.finish(input);
    l.armed = false;
    if (when === 'after-write') await inner.finish(input);
    throw new ProcessDied(`process died ${when} of finish(${input.outcome})`);
  };
  return l;
}

/** Records every event it is given; "dies" after handing the first one over. */
class DyingAfterSendNotifier implements Notifier {
  events: CloudEvent[] = [];
  armed = true;
  async send(event: CloudEvent, _target: NotifyTarget) {
    this.events.push(event);
    if (this.armed) {
      this.armed = false;
      throw new ProcessDied('process died after the notification went out');
    }
  }
  async close() {}
}

t.test('crash after the terminal write, before the notification: the retry (a duplicate) sends it, with its stable id', async (t) => {
  const ledger = createMemoryLedger();
  const clock = manualClock(Date.now());
  const first = harness(t, dyingLedger(ledger, 'after-write', ['succeeded']), { clock });
  const died = await first.push({ type: 'work' });
  t.equal(died.statusCode, 500, 'the process died mid-delivery (Cloud Tasks sees no 2xx)');
  t.equal((await ledger.get('task-1'))?.state, 'succeeded');
  t.same(
    (await ledger.listDeadLetters('task-1')).map((l) => l.key),
    ['task-1/notify/succeeded'],
    'the notification is owed in the ledger',
  );
  t.equal(first.notifier.events.length, 0, 'nothing was sent');

  const restarted = harness(t, ledger, { clock });
  const retry = await restarted.push({ type: 'work' }, retryHeaders(1));
  t.equal(retry.statusCode, 200);
  t.equal(retry.json().outcome, 'duplicate');
  t.equal(first.job.calls.length + restarted.job.calls.length, 1, 'the job ran once');
  t.same(
    restarted.notifier.events.map((e) => e.event.id),
    ['task-1/succeeded'],
  );
  t.same(await ledger.listDeadLetters('task-1'), [], 'cleared once sent');
});

t.test('crash after sending, before clearing: the replay sends the same event id again (receivers and the notifier queue drop it)', async (t) => {
  const ledger = createMemoryLedger();
  const notifier = new DyingAfterSendNotifier();
  const s = harness(t, ledger, { notifier });
  const died = await s.push({ type: 'work' });
  t.equal(died.statusCode, 500);
  t.equal((await ledger.listDeadLetters('task-1')).length, 1, 'still owed: its clearing never happened');
  const retry = await s.push({ type: 'work' }, retryHeaders(1));
  t.equal(retry.statusCode, 200);
  t.same([...new Set(notifier.events.map((e) => e.id))], ['task-1/succeeded'], 'one stable id');
  t.equal(notifier.events.length, 2, 'at least once: sent, then replayed');
  t.same(notifier.events[0], notifier.events[1], 'the very same event (built once, stored in the outbox)');
  t.same(await ledger.listDeadLetters('task-1'), []);
});

t.test('crash after the forwarded write, before creating the next tier task: the retry forwards and notifies', async (t) => {
  const ledger = createMemoryLedger();
  const clock = manualClock(Date.now());
  const fail = async () => ({ state: 'failed' as const, error: { code: 'Down', message: 'x', permanent: false } });
  const first = harness(t, dyingLedger(ledger, 'after-write', ['forwarded']), { clock, behaviour: fail });
  await first.push({ type: 'work' }, retryHeaders(0));
  await first.push({ type: 'work' }, retryHeaders(1));
  const died = await first.push({ type: 'work' }, retryHeaders(2));
  t.equal(died.statusCode, 500);
  t.equal((await ledger.get('task-1'))?.state, 'forwarded');
  t.equal(first.queue.created.length, 0);
  const restarted = harness(t, ledger, { clock, behaviour: fail });
  const retry = await restarted.push({ type: 'work' }, retryHeaders(3));
  t.equal(retry.statusCode, 200);
  t.same(
    restarted.queue.created.map((c) => `${c.queue}/${c.taskName}`),
    ['incoming-2/task-1-t1'],
  );
  t.same(
    restarted.notifier.events.map((e) => e.event.id),
    ['task-1/forwarded-0'],
  );
  t.same(await ledger.listDeadLetters('task-1'), []);
});

t.test(
  'crash after the job ran, before its outcome was written: the lease makes copies wait, then its expiry counts a crash and the job runs again',
  async (t) => {
    const ledger = createMemoryLedger();
    const clock = manualClock(Date.now());
    const env = { JOB_TIMEOUT: '10s', LEASE_MARGIN: '5s' };
    const first = harness(t, dyingLedger(ledger, 'before-write', ['succeeded']), { clock, env });
    t.equal((await first.push({ type: 'work' })).statusCode, 500);
    const restarted = harness(t, ledger, { clock, env });
    const early = await restarted.push({ type: 'work' }, retryHeaders(1));
    t.equal(early.statusCode, 429, 'the dead attempt still holds its lease');
    t.equal(early.json().outcome, 'busy');
    t.equal(early.headers['retry-after'], '15');
    clock.advance(15_000);
    const late = await restarted.push({ type: 'work' }, retryHeaders(2));
    t.equal(late.statusCode, 200);
    t.equal(late.json().outcome, 'succeeded');
    t.equal(late.json().attempt, 2, 'the busy refusal was not counted');
    const rec = await ledger.get('task-1');
    t.equal(rec?.crashes, 1);
    t.same(
      rec?.history.map((h) => h.outcome),
      ['crashed', 'succeeded'],
    );
    t.same(
      restarted.notifier.events.map((e) => e.event.id),
      ['task-1/succeeded'],
    );
  },
);

t.test('a queue that dies after creating the next tier task: the replay hits ALREADY_EXISTS, one task', async (t) => {
  const ledger = createMemoryLedger();
  const queue = new RecordingQueue();
  let armed = true;
  const create = queue.createTask.bind(queue);
  queue.createTask = async (input) => {
    const r = await create(input);
    if (armed) {
      armed = false;
      throw new ProcessDied('died after createTask');
    }
    return r;
  };
  const s = harness(t, ledger, { queue, behaviour: async () => ({ state: 'failed', error: { code: 'Down', message: 'x', permanent: false } }) });
  await s.push({ type: 'work' }, retryHeaders(2));
  t.equal((await s.push({ type: 'work' }, retryHeaders(3))).statusCode, 200);
  t.equal(queue.created.length, 1, 'one next-tier task');
  t.same(
    s.notifier.events.map((e) => e.event.id),
    ['task-1/forwarded-0'],
  );
});

t.test('the sweep replays what no delivery came back for, one instance at a time', async (t) => {
  const ledger = createMemoryLedger();
  const clock = manualClock(Date.now());
  const first = harness(t, dyingLedger(ledger, 'after-write', ['failed']), {
    clock,
    behaviour: async () => ({ state: 'failed', error: { code: 'Bad', message: 'x', permanent: true } }),
  });
  await first.push({ type: 'work' });
  const other = harness(t, ledger, { clock });
  const log = pino({ level: 'silent' });
  const a = startOutboxSweep({ ledger, effects: other.built.effects, clock, logger: log, intervalMs: 60_000, schedule: false });
  const b = startOutboxSweep({ ledger, effects: other.built.effects, clock, logger: log, intervalMs: 60_000, schedule: false });
  t.match(await a.runOnce(), { ran: true, redriven: 0 }, 'too young: a live delivery may still be sending it');
  clock.advance(31_000);
  t.match(await b.runOnce(), { ran: false }, 'the other instance holds the sweep lease');
  t.match(await a.runOnce(), { ran: true, redriven: 1 });
  t.same(
    other.notifier.events.map((e) => e.event.id),
    ['task-1/failed'],
  );
  t.same(await ledger.listDeadLetters(), []);
});

t.test('20 concurrent deliveries of one task run the job once; the others get 429 and count no attempt', async (t) => {
  const ledger = createMemoryLedger();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const s = harness(t, ledger, {
    behaviour: async () => {
      await gate;
      return { state: 'succeeded' };
    },
  });
  const pushes = Array.from({ length: 20 }, () => s.push({ type: 'work' }));
  for (let i = 0; i < 200 && s.job.calls.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 50));
  release();
  const replies = await Promise.all(pushes);
  t.equal(s.job.calls.length, 1, 'the job ran once');
  t.equal(replies.filter((r) => r.statusCode === 200).length, 1);
  const busy = replies.filter((r) => r.statusCode === 429);
  t.equal(busy.length, 19);
  t.ok(busy.every((r) => Number(r.headers['retry-after']) >= 1 && r.json().outcome === 'busy'));
  t.same((await ledger.get('task-1'))?.attempts, { '0': 1 });
  t.equal(s.notifier.events.length, 1);
});

t.test('poison: after MAX_CRASHES attempts that never finished, the next delivery fails the lineage (PoisonTask) without running it', async (t) => {
  const ledger = createMemoryLedger();
  const clock = manualClock(Date.now());
  const env = { JOB_TIMEOUT: '10s', LEASE_MARGIN: '5s', MAX_CRASHES: '2', CHAIN: 'incoming:unlimited' };
  for (let i = 0; i < 2; i++) {
    // The worker dies while the job runs: its lease is left behind.
    await ledger.begin({
      id: 'task-1',
      tier: 0,
      queue: 'incoming',
      taskName: 'task-1',
      type: 'work',
      headerAttempt: i + 1,
      maxAttempts: null,
      lease: { holder: `dead-${i}`, ms: 15_000 },
      now: clock.now(),
    });
    clock.advance(15_000);
  }
  const s = harness(t, ledger, { clock, env });
  const res = await s.push({ type: 'work' }, retryHeaders(2));
  t.equal(res.statusCode, 200);
  t.equal(res.json().outcome, 'failed');
  t.match(res.json().error, { code: 'PoisonTask', permanent: true });
  t.equal(s.job.calls.length, 0, 'not run again');
  const rec = await ledger.get('task-1');
  t.equal(rec?.state, 'failed');
  t.equal(rec?.crashes, 2);
  t.same(s.notifier.types(), ['executor.task.failed']);
});

t.test('a notification that fails permanently is a dead letter: acknowledged (200), counted, not replayed by the next delivery', async (t) => {
  const ledger = createMemoryLedger();
  const notifier: Notifier & { calls: number } = {
    calls: 0,
    async send() {
      this.calls++;
      throw Object.assign(new Error('5 NOT_FOUND: Resource not found (resource=nowhere)'), { code: 5 });
    },
    async close() {},
  };
  const s = harness(t, ledger, { notifier });
  const res = await s.push({ type: 'work' });
  t.equal(res.statusCode, 200, 'no endless 5xx');
  t.equal(res.json().outcome, 'succeeded');
  const letters = await ledger.listDeadLetters('task-1');
  t.match(letters, [{ kind: 'notify', error: { code: 'NotifyFailed', permanent: true } }]);
  t.equal(await s.built.metrics.deliveriesCount({ outcome: 'dead-letter' }), 1, 'counted in metrics');
  const again = await s.push({ type: 'work' }, retryHeaders(1));
  t.equal(again.statusCode, 200);
  t.equal(notifier.calls, 1, 'a permanent dead letter is not replayed by deliveries (only by an explicit redrive)');
});

t.test('a cancelled running job sends executor.task.cancelled, not failed', async (t) => {
  const ledger = createMemoryLedger();
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const s = harness(t, ledger, {
    behaviour: (_a, _d, ctx) =>
      new Promise((resolve) => {
        started();
        ctx.signal.addEventListener('abort', () => resolve({ state: 'succeeded' }));
      }),
  });
  const pending = s.push({ type: 'work' });
  await running;
  const cancel = await s.built.app.inject({ method: 'POST', url: '/v1/tasks/task-1/cancel' });
  t.equal(cancel.statusCode, 200);
  const res = await pending;
  t.equal(res.statusCode, 200);
  t.equal(res.json().outcome, 'cancelled');
  t.same(s.notifier.types(), ['executor.task.cancelled']);
  t.equal(s.notifier.events[0]!.event.data.state, 'cancelled');
  t.equal((await ledger.get('task-1'))?.state, 'cancelled');
});

t.test('an unusable notify target makes the task invalid at intake: recorded, notified through the default destination, acknowledged', async (t) => {
  const cases: Array<[string, Record<string, string>]> = [
    ['no URL', { url: 'x' }],
    ['ftp', { url: 'ftp://x.example/cb' }],
    ['too long', { url: `https://x.example/${'a'.repeat(2100)}` }],
    ['bad topic', { topic: 'projects/p/topics/' }],
    ['topic without projects/', { topic: 'my-topic' }],
  ];
  for (const [name, notify] of cases) {
    const s = harness(t, createMemoryLedger());
    const res = await s.push({ type: 'work', notify });
    t.equal(res.statusCode, 200, `${name}: acknowledged`);
    t.match(res.json(), { outcome: 'failed', error: { code: 'InvalidTask', permanent: true } }, `${name}: invalid`);
    t.equal(s.job.calls.length, 0, `${name}: not run`);
    t.same(
      s.notifier.events.map((e) => [e.event.type, e.target]),
      [['executor.task.failed', {}]],
      `${name}: notified through the default destination`,
    );
  }
  const ok = harness(t, createMemoryLedger());
  const res = await ok.push({ type: 'work', notify: { url: 'https://cb.example/hook?x=1', topic: 'projects/p/topics/events' } });
  t.equal(res.json().outcome, 'succeeded', 'usable targets pass');
});

t.test('a job that ignores its signal past JOB_TIMEOUT keeps the lease: no retry runs beside it, and its end is no crash', async (t) => {
  const ledger = createMemoryLedger();
  const clock = manualClock(Date.now());
  let release!: () => void;
  const stuck = new Promise<void>((r) => (release = r));
  let calls = 0;
  const s = harness(t, ledger, {
    clock,
    env: { JOB_TIMEOUT: '50ms', LEASE_MARGIN: '10s' },
    behaviour: async () => {
      calls++;
      if (calls === 1) await stuck; // ignores its signal
      return { state: 'succeeded' };
    },
  });
  const first = await s.push({ type: 'work' });
  t.equal(first.statusCode, 503);
  t.equal(first.json().error.code, 'RunTimeout');
  const copy = await s.push({ type: 'work' }, retryHeaders(1));
  t.equal(copy.statusCode, 429, 'the timed-out job may still run: the retry waits');
  t.equal(copy.json().outcome, 'busy');
  t.equal(calls, 1);
  release();
  clock.advance(10_100);
  const retry = await s.push({ type: 'work' }, retryHeaders(2));
  t.equal(retry.json().outcome, 'succeeded');
  t.equal(retry.json().attempt, 2);
  t.equal((await ledger.get('task-1'))?.crashes ?? 0, 0, 'the timed-out attempt had ended: no crash');
});

t.test(
  'a lease that reaches the worker too late to cover JOB_TIMEOUT is given back: the job is not run, no attempt or crash counted, the retry runs once',
  async (t) => {
    const clock = manualClock(Date.now());
    const ledger = createMemoryLedger({ clock });
    let late = true;
    // The begin's answer arrives after most of its lease has passed (a busy worker, a slow Firestore answer).
    const slowBegin = Object.create(ledger) as AttemptLedger;
    slowBegin.begin = async (input) => {
      const begun = await ledger.begin(input);
      if (late) clock.advance(10_000);
      return begun;
    };
    const s = harness(t, slowBegin, { clock, env: { JOB_TIMEOUT: '10s', LEASE_MARGIN: '5s' } });
    const refused = await s.push({ type: 'work' });
    t.equal(refused.statusCode, 429, `refused: the queue retries (${refused.body})`);
    t.equal(refused.json().outcome, 'throttled');
    t.equal(s.job.calls.length, 0, 'the job did not start on a lease it could outlive');
    const after = await ledger.get('task-1');
    t.same(after?.attempts, { '0': 0 }, 'the attempt was given back');
    t.equal(after?.lease, undefined, 'the lease was released');
    late = false;
    clock.advance(20_000);
    const retried = await s.push({ type: 'work' }, retryHeaders(1));
    t.equal(retried.statusCode, 200);
    t.equal(s.job.calls.length, 1, 'the retry ran the job once');
    const done = await ledger.get('task-1');
    t.equal(done?.state, 'succeeded');
    t.notOk(done?.crashes, 'no crash counted');
  },
);
