// The AttemptLedger contract: every backend runs this same suite (BullMQ style).
// Each test gets a fresh ledger from makeLedger and cleans it up.
import type { Test } from 'tap';
import type { AttemptLedger, BeginInput, DeadLetter, FinishInput, ListCursor, ListQuery } from '../../src/interfaces.ts';

export interface LedgerFixture {
  ledger: AttemptLedger;
  cleanup(): Promise<void>;
}

export const T0 = Date.parse('2030-01-01T00:00:00.000Z');
export const TTL_MS = 60_000;

export function beginInput(over: Partial<BeginInput> = {}): BeginInput {
  return {
    id: 'lineage-1',
    tier: 0,
    queue: 'incoming',
    taskName: 'task-1',
    type: 'echo',
    headerAttempt: 1,
    maxAttempts: 3,
    now: T0,
    ...over,
  };
}

export function finishInput(over: Partial<FinishInput> = {}): FinishInput {
  return { id: 'lineage-1', tier: 0, attempt: 1, outcome: 'retry', now: T0 + 1000, ...over };
}

const ERR = { code: 'Boom', message: 'boom', permanent: false };

/** makeLedger must build a ledger with ttlMs = TTL_MS and maxHistory = 5. */
export function ledgerContract(t: Test, name: string, makeLedger: () => Promise<LedgerFixture>): void {
  const withLedger = (title: string, fn: (t: Test, ledger: AttemptLedger) => Promise<void>) =>
    t.test(`${name}: ${title}`, async (t) => {
      const { ledger, cleanup } = await makeLedger();
      t.teardown(cleanup);
      await fn(t, ledger);
    });

  withLedger('begin on an unknown lineage creates a running record at the header attempt', async (t, ledger) => {
    const res = await ledger.begin(beginInput({ headerAttempt: 3, notify: { url: 'http://cb' }, dataRef: 'gs://b/o' }));
    if (res.duplicate) throw new Error('unexpected duplicate');
    t.equal(res.attempt, 3);
    t.match(res.record, {
      id: 'lineage-1',
      type: 'echo',
      state: 'running',
      tier: 0,
      queue: 'incoming',
      attempts: { '0': 3 },
      maxAttempts: 3,
      notify: { url: 'http://cb' },
      dataRef: 'gs://b/o',
      createdAt: new Date(T0).toISOString(),
      updatedAt: new Date(T0).toISOString(),
    });
    t.same(res.record.history, [{ tier: 0, attempt: 3, queue: 'incoming', taskName: 'task-1', outcome: 'running', startedAt: new Date(T0).toISOString() }]);
    t.same(await ledger.get('lineage-1'), res.record, 'get returns what begin stored');
  });

  withLedger('a header attempt of 0 still counts as attempt 1', async (t, ledger) => {
    const res = await ledger.begin(beginInput({ headerAttempt: 0 }));
    t.equal(res.duplicate ? -1 : res.attempt, 1);
  });

  withLedger('each begin counts one more attempt even when the headers lag', async (t, ledger) => {
    const attempts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await ledger.begin(beginInput({ headerAttempt: 1, now: T0 + i }));
      attempts.push(res.duplicate ? -1 : res.attempt);
      await ledger.finish(finishInput({ attempt: attempts[i], outcome: 'retry', error: ERR, now: T0 + i }));
    }
    t.same(attempts, [1, 2, 3]);
    const rec = await ledger.get('lineage-1');
    t.same(rec?.attempts, { '0': 3 });
    t.equal(rec?.state, 'retrying');
    t.same(
      rec?.history.map((h) => [h.attempt, h.outcome]),
      [
        [1, 'retry'],
        [2, 'retry'],
        [3, 'retry'],
      ],
    );
  });

  withLedger('a header attempt ahead of the ledger wins', async (t, ledger) => {
    await ledger.begin(beginInput());
    const res = await ledger.begin(beginInput({ headerAttempt: 7 }));
    t.equal(res.duplicate ? -1 : res.attempt, 7);
    t.same((await ledger.get('lineage-1'))?.attempts, { '0': 7 });
  });

  // 20 contenders prove the count is atomic as well as 50 did; the Firestore
  // emulator serialises transactions on one document and the client backs off on
  // each conflict, so 50 cost 28 s idle and 90 s on a loaded 2-core machine.
  withLedger('20 concurrent begins on one lineage get 20 distinct attempts 1..20', async (t, ledger) => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.begin(beginInput({ taskName: `task-${i}` }))));
    const attempts = results.map((r) => (r.duplicate ? -1 : r.attempt)).sort((a, b) => a - b);
    t.same(
      attempts,
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    t.same((await ledger.get('lineage-1'))?.attempts, { '0': 20 });
  });

  for (const ended of ['succeeded', 'failed'] as const) {
    withLedger(`a begin after the lineage ${ended} is a duplicate and changes nothing`, async (t, ledger) => {
      await ledger.begin(beginInput());
      const done = await ledger.finish(finishInput({ outcome: ended }));
      const res = await ledger.begin(beginInput({ now: T0 + 5000 }));
      t.equal(res.duplicate, true);
      t.same(res.record, done);
      t.same(await ledger.get('lineage-1'), done);
    });
  }

  withLedger('a begin after cancel is a duplicate', async (t, ledger) => {
    await ledger.begin(beginInput());
    await ledger.cancel('lineage-1', T0 + 10);
    const res = await ledger.begin(beginInput({ now: T0 + 20 }));
    t.equal(res.duplicate, true);
    t.equal(res.record.state, 'cancelled');
  });

  withLedger('a begin in a tier the lineage was forwarded from is a duplicate', async (t, ledger) => {
    await ledger.begin(beginInput());
    await ledger.finish(finishInput({ outcome: 'forwarded' }));
    const res = await ledger.begin(beginInput({ now: T0 + 5000 }));
    t.equal(res.duplicate, true);
    t.equal(res.record.state, 'forwarded');
    t.same((await ledger.get('lineage-1'))?.attempts, { '0': 1 });
  });

  withLedger('a forwarded lineage continues in the next tier with its own count', async (t, ledger) => {
    await ledger.begin(beginInput({ headerAttempt: 3 }));
    await ledger.finish(finishInput({ attempt: 3, outcome: 'forwarded' }));
    const res = await ledger.begin(beginInput({ tier: 1, queue: 'incoming-2', taskName: 'task-1-t1', maxAttempts: 5, now: T0 + 5000 }));
    t.equal(res.duplicate, false);
    t.equal(res.duplicate ? -1 : res.attempt, 1);
    t.match(res.record, { state: 'running', tier: 1, queue: 'incoming-2', maxAttempts: 5, attempts: { '0': 3, '1': 1 } });
    t.same(
      res.record.history.map((h) => [h.tier, h.attempt, h.outcome]),
      [
        [0, 3, 'forwarded'],
        [1, 1, 'running'],
      ],
    );
  });

  withLedger('a higher tier seen first moves the lineage on even if the forward was not recorded', async (t, ledger) => {
    await ledger.begin(beginInput());
    const res = await ledger.begin(beginInput({ tier: 2, queue: 'incoming-3' }));
    t.equal(res.duplicate, false);
    t.equal(res.record.tier, 2);
  });

  withLedger('a late delivery of an earlier tier is a duplicate', async (t, ledger) => {
    await ledger.begin(beginInput({ tier: 1, queue: 'incoming-2' }));
    const res = await ledger.begin(beginInput({ tier: 0 }));
    t.equal(res.duplicate, true);
    t.same((await ledger.get('lineage-1'))?.attempts, { '1': 1 });
  });

  withLedger('finish maps each outcome to the lineage state', async (t, ledger) => {
    const expected = {
      retry: 'retrying',
      throttled: 'throttled',
      aborted: 'retrying',
      forwarded: 'forwarded',
      succeeded: 'succeeded',
      failed: 'failed',
    } as const;
    let n = 0;
    for (const [outcome, state] of Object.entries(expected)) {
      const id = `lineage-${++n}`;
      await ledger.begin(beginInput({ id }));
      const rec = await ledger.finish(finishInput({ id, outcome: outcome as FinishInput['outcome'] }));
      t.equal(rec.state, state, `${outcome} -> ${state}`);
      t.equal(rec.history[0]?.outcome, outcome);
      t.equal(rec.history[0]?.finishedAt, new Date(T0 + 1000).toISOString());
    }
  });

  withLedger('a terminal finish sets finishedAt and expiresAt = now + ttl and keeps error, result and outputRef', async (t, ledger) => {
    await ledger.begin(beginInput());
    const failed = { code: 'Nope', message: 'bad args', permanent: true };
    const rec = await ledger.finish(finishInput({ outcome: 'failed', error: failed, result: { partial: [1, 2] }, outputRef: 'gs://b/out' }));
    t.equal(rec.finishedAt, new Date(T0 + 1000).toISOString());
    t.equal(rec.expiresAt, new Date(T0 + 1000 + TTL_MS).toISOString());
    t.same(rec.error, failed);
    t.same(rec.result, { partial: [1, 2] });
    t.equal(rec.outputRef, 'gs://b/out');
    t.same(rec.history[0]?.error, failed);
    t.same(await ledger.get('lineage-1'), rec, 'get returns what finish stored');
  });

  withLedger('a non-terminal finish sets no expiry', async (t, ledger) => {
    await ledger.begin(beginInput());
    const rec = await ledger.finish(finishInput({ outcome: 'forwarded' }));
    t.equal(rec.finishedAt, undefined);
    t.equal(rec.expiresAt, undefined);
  });

  withLedger('a success clears the error of an earlier attempt', async (t, ledger) => {
    await ledger.begin(beginInput());
    await ledger.finish(finishInput({ outcome: 'retry', error: ERR }));
    await ledger.begin(beginInput());
    const rec = await ledger.finish(finishInput({ attempt: 2, outcome: 'succeeded', result: 42 }));
    t.equal(rec.error, undefined);
    t.equal(rec.result, 42);
    t.same(
      rec.history.map((h) => h.error?.code),
      ['Boom', undefined],
    );
  });

  withLedger('an ended lineage never changes state', async (t, ledger) => {
    await ledger.begin(beginInput());
    await ledger.begin(beginInput()); // attempt 2 runs concurrently
    const done = await ledger.finish(finishInput({ attempt: 1, outcome: 'succeeded' }));
    const rec = await ledger.finish(finishInput({ attempt: 2, outcome: 'retry', now: T0 + 2000 }));
    t.equal(rec.state, 'succeeded');
    t.equal(rec.finishedAt, done.finishedAt);
    t.equal(rec.expiresAt, done.expiresAt);
    t.equal(rec.history[1]?.outcome, 'retry', 'the attempt outcome is still recorded');
  });

  withLedger('a late finish from a lower tier does not change the state', async (t, ledger) => {
    await ledger.begin(beginInput());
    await ledger.begin(beginInput({ tier: 1, queue: 'incoming-2' }));
    const rec = await ledger.finish(finishInput({ tier: 0, attempt: 1, outcome: 'failed', error: ERR }));
    t.equal(rec.state, 'running');
    t.equal(rec.error, undefined);
    t.equal(rec.history[0]?.outcome, 'failed');
  });

  withLedger('finish of an unknown lineage rejects', async (t, ledger) => {
    await t.rejects(ledger.finish(finishInput({ id: 'nobody' })), { code: 'LineageNotFound' });
  });

  withLedger('history keeps only the newest maxHistory entries', async (t, ledger) => {
    for (let i = 1; i <= 8; i++) await ledger.begin(beginInput({ now: T0 + i }));
    const rec = await ledger.get('lineage-1');
    t.same(
      rec?.history.map((h) => h.attempt),
      [4, 5, 6, 7, 8],
    );
    t.same(rec?.attempts, { '0': 8 }, 'the count is not bounded by the history');
    const fin = await ledger.finish(finishInput({ attempt: 2, outcome: 'retry' }));
    t.equal(fin.history.length, 5, 'finishing a trimmed attempt keeps the bound');
    t.same(fin.history.at(-1), {
      tier: 0,
      attempt: 2,
      queue: 'incoming',
      taskName: '',
      outcome: 'retry',
      startedAt: new Date(T0 + 1000).toISOString(),
      finishedAt: new Date(T0 + 1000).toISOString(),
    });
  });

  withLedger('get of an unknown lineage is undefined', async (t, ledger) => {
    t.equal(await ledger.get('nobody'), undefined);
  });

  withLedger('cancel marks a running lineage cancelled with an expiry', async (t, ledger) => {
    await ledger.begin(beginInput());
    const rec = await ledger.cancel('lineage-1', T0 + 10);
    t.match(rec, { state: 'cancelled', finishedAt: new Date(T0 + 10).toISOString(), expiresAt: new Date(T0 + 10 + TTL_MS).toISOString() });
    t.same(await ledger.get('lineage-1'), rec);
  });

  withLedger('cancel of an unknown lineage is undefined', async (t, ledger) => {
    t.equal(await ledger.cancel('nobody', T0), undefined);
  });

  withLedger('cancel of an ended lineage returns it unchanged', async (t, ledger) => {
    await ledger.begin(beginInput());
    const done = await ledger.finish(finishInput({ outcome: 'succeeded' }));
    t.same(await ledger.cancel('lineage-1', T0 + 5000), done);
    t.same(await ledger.get('lineage-1'), done);
  });

  /** A caller's attempt to change a returned value: it may throw (a frozen record) or change a copy; either way the store must not change. */
  const tryChange = (change: () => void) => {
    try {
      change();
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
    }
  };

  withLedger('returned records share no state with the store', async (t, ledger) => {
    const notify = { url: 'http://cb' };
    const res = await ledger.begin(beginInput({ notify }));
    notify.url = 'http://changed';
    tryChange(() => res.record.history.push({ tier: 9, attempt: 9, queue: 'x', taskName: 'x', outcome: 'running', startedAt: 'x' }));
    tryChange(() => void (res.record.attempts['0'] = 99));
    tryChange(() => void (res.record.history[0]!.outcome = 'succeeded'));
    const got = await ledger.get('lineage-1');
    t.equal(got?.notify?.url, 'http://cb');
    t.equal(got?.history.length, 1);
    t.equal(got?.history[0]?.outcome, 'running');
    t.equal(got?.attempts['0'], 1);
    tryChange(() => void (got!.state = 'failed'));
    t.equal((await ledger.get('lineage-1'))?.state, 'running');
    const [listed] = (await ledger.list({ pageSize: 10 })).records;
    tryChange(() => void (listed!.tier = 7));
    t.equal((await ledger.get('lineage-1'))?.tier, 0, 'nor through a listed record');
  });

  withLedger('what a caller passes in and goes on changing does not change the store', async (t, ledger) => {
    const source = { type: 'echo', args: { n: 1 }, data: { items: [1, 2] } };
    const labels = { team: 'a' };
    await ledger.begin(beginInput({ source, labels }));
    // A job mutates its data (the same object as the replay source) while it runs.
    source.data.items.push(3);
    source.args.n = 2;
    labels.team = 'b';
    const result = { out: { list: ['x'] } };
    const error = { code: 'Boom', message: 'boom', permanent: true };
    const done = await ledger.finish(finishInput({ outcome: 'failed', result, error }));
    result.out.list.push('y');
    error.message = 'changed';
    tryChange(() => void ((done.result as typeof result).out.list[0] = 'z'));
    const got = await ledger.get('lineage-1');
    t.same(got?.source, { type: 'echo', args: { n: 1 }, data: { items: [1, 2] } });
    t.same(got?.labels, { team: 'a' });
    t.same(got?.result, { out: { list: ['x'] } });
    t.equal(got?.error?.message, 'boom');
    t.equal(got?.history[0]?.error?.message, 'boom');
  });

  withLedger('dead letters and job records returned cannot change the store', async (t, ledger) => {
    const envelope = { id: 'lineage-1', type: 'echo', args: { nested: [1] }, tier: 1 };
    await ledger.putDeadLetter({ key: 'k', lineageId: 'lineage-1', kind: 'forward', envelope, tier: 1, createdAt: new Date(T0).toISOString() });
    envelope.args.nested.push(2);
    const [listed] = await ledger.listDeadLetters();
    tryChange(() => void (listed!.envelope!.args!.nested = []));
    t.same((await ledger.listDeadLetters())[0]?.envelope?.args, { nested: [1] });
    const { record } = await ledger.jobTaskEnded({ job: 'job-1', size: 2, lineage: 'a', state: 'succeeded', now: T0 });
    tryChange(() => void (record.counts.succeeded = 5));
    tryChange(() => void (record.ended.b = { state: 'failed' }));
    const job = await ledger.getJob('job-1');
    t.equal(job?.counts.succeeded, 1);
    t.same(Object.keys(job?.ended ?? {}), ['a']);
  });

  const letter = (over: Partial<DeadLetter> = {}): DeadLetter => ({
    key: 'lineage-1/forward/1',
    lineageId: 'lineage-1',
    kind: 'forward',
    envelope: { id: 'lineage-1', type: 'echo', args: { nested: [[1, 2], { a: null }] }, tier: 1 },
    tier: 1,
    taskName: 'lineage-1-t1',
    error: ERR,
    createdAt: new Date(T0).toISOString(),
    ...over,
  });

  withLedger('dead letters are stored, listed per lineage, replaced by key and removed', async (t, ledger) => {
    const a = letter();
    const b = letter({ key: 'lineage-1/notify/executor.task.failed', kind: 'notify', createdAt: new Date(T0 + 1).toISOString(), target: { url: 'http://cb' } });
    const c = letter({ key: 'lineage-2/forward/1', lineageId: 'lineage-2', createdAt: new Date(T0 + 2).toISOString() });
    for (const l of [c, b, a]) await ledger.putDeadLetter(l);
    t.same(await ledger.listDeadLetters(), [a, b, c], 'all, oldest first');
    t.same(await ledger.listDeadLetters('lineage-1'), [a, b]);
    t.same(await ledger.listDeadLetters('nobody'), []);
    const a2 = { ...a, error: { code: 'Again', message: 'again', permanent: false } };
    await ledger.putDeadLetter(a2);
    t.same(await ledger.listDeadLetters('lineage-1'), [a2, b], 'upsert by key');
    await ledger.removeDeadLetter(a.key);
    await ledger.removeDeadLetter('not/there/0');
    t.same(await ledger.listDeadLetters(), [b, c]);
  });

  const LEASE = 10_000;
  const lease = (holder: string) => ({ holder, ms: LEASE });

  withLedger('a begin under a live lease is busy: no attempt counted, the refused push discounted', async (t, ledger) => {
    const first = await ledger.begin(beginInput({ lease: lease('a') }));
    t.equal(first.duplicate ? -1 : first.attempt, 1);
    t.match(first.record.lease, { holder: 'a', tier: 0, attempt: 1, until: new Date(T0 + LEASE).toISOString() });
    const second = await ledger.begin(beginInput({ lease: lease('b'), headerAttempt: 2, now: T0 + 4000 }));
    t.equal(second.busy, true);
    t.equal(second.busy ? second.leaseRemainingMs : -1, LEASE - 4000);
    const rec = await ledger.get('lineage-1');
    t.same(rec?.attempts, { '0': 1 }, 'no attempt counted');
    t.same(rec?.skipped, { '0': 1 });
    t.equal(rec?.lease?.holder, 'a', 'the lease stays with its holder');
    await ledger.finish(finishInput({ holder: 'a', outcome: 'retry', now: T0 + 5000 }));
    const third = await ledger.begin(beginInput({ lease: lease('c'), headerAttempt: 3, now: T0 + 6000 }));
    t.equal(third.duplicate ? -1 : third.attempt, 2, 'the header attempt the refused push raised is discounted');
  });

  withLedger('20 concurrent begins with leases: one runs, 19 are busy', async (t, ledger) => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.begin(beginInput({ lease: lease(`h${i}`) }))));
    t.equal(results.filter((r) => !r.duplicate).length, 1);
    t.equal(results.filter((r) => r.busy).length, 19);
    t.same((await ledger.get('lineage-1'))?.attempts, { '0': 1 });
  });

  withLedger('finish clears the lease; an expired lease is a crash of the lineage', async (t, ledger) => {
    await ledger.begin(beginInput({ lease: lease('a') }));
    const done = await ledger.finish(finishInput({ holder: 'a', outcome: 'retry' }));
    t.equal(done.lease, undefined);
    await ledger.begin(beginInput({ lease: lease('b'), now: T0 + 2000 }));
    // b's worker dies: its lease expires and the next begin counts the crash.
    const next = await ledger.begin(beginInput({ lease: lease('c'), now: T0 + 2000 + LEASE }));
    t.equal(next.duplicate ? -1 : next.attempt, 3);
    t.equal(next.record.crashes, 1);
    t.match(
      next.record.history.find((h) => h.attempt === 2),
      { outcome: 'crashed', error: { code: 'JobCrashed' } },
    );
    t.equal(next.record.lease?.holder, 'c');
  });

  withLedger('a finish that keeps the lease leaves it until it expires; its expiry is no crash', async (t, ledger) => {
    await ledger.begin(beginInput({ lease: lease('a') }));
    const rec = await ledger.finish(finishInput({ holder: 'a', outcome: 'retry', keepLease: true }));
    t.equal(rec.lease?.holder, 'a', 'the job may still be running');
    const busy = await ledger.begin(beginInput({ lease: lease('b'), now: T0 + 2000 }));
    t.equal(busy.busy, true);
    const next = await ledger.begin(beginInput({ lease: lease('c'), now: T0 + LEASE }));
    t.equal(next.duplicate ? -1 : next.attempt, 2);
    t.equal(next.record.crashes ?? 0, 0, 'the attempt had finished: no crash');
    t.same(
      next.record.history.map((h) => h.outcome),
      ['retry', 'running'],
    );
  });

  withLedger('a throttled finish gives the attempt back and discounts the header', async (t, ledger) => {
    const r = await ledger.begin(beginInput({ lease: lease('a'), headerAttempt: 1 }));
    const rec = await ledger.finish(finishInput({ attempt: r.duplicate ? -1 : r.attempt, holder: 'a', outcome: 'throttled' }));
    t.same(rec.attempts, { '0': 0 });
    t.same(rec.skipped, { '0': 1 });
    t.equal(rec.state, 'throttled');
    const again = await ledger.begin(beginInput({ lease: lease('b'), headerAttempt: 2, now: T0 + 2000 }));
    t.equal(again.duplicate ? -1 : again.attempt, 1, 'the throttled push did not count');
  });

  withLedger('owed effects are written with the state that owes them, and not by a finish that changes nothing', async (t, ledger) => {
    const owed = (key: string): DeadLetter => ({ key, lineageId: 'lineage-1', kind: 'notify', target: {}, createdAt: new Date(T0).toISOString() });
    await ledger.begin(beginInput({ lease: lease('a') }));
    await ledger.begin(beginInput({ now: T0 + 1 })); // a second attempt, no lease
    const rec = await ledger.finish(finishInput({ holder: 'a', outcome: 'succeeded', owed: [owed('lineage-1/notify/succeeded')] }));
    t.equal(rec.state, 'succeeded');
    t.same(
      (await ledger.listDeadLetters('lineage-1')).map((l) => l.key),
      ['lineage-1/notify/succeeded'],
    );
    await ledger.finish(finishInput({ attempt: 2, outcome: 'failed', owed: [owed('lineage-1/notify/failed')] }));
    t.same(
      (await ledger.listDeadLetters('lineage-1')).map((l) => l.key),
      ['lineage-1/notify/succeeded'],
      'the ended lineage owes nothing more',
    );
  });

  withLedger('a cancelled job owes its cancelled notification on the lineage its cancel ended', async (t, ledger) => {
    await ledger.begin(beginInput({ lease: lease('a') }));
    await ledger.cancel('lineage-1', T0 + 10);
    const owed: DeadLetter = { key: 'lineage-1/notify/cancelled', lineageId: 'lineage-1', kind: 'notify', target: {}, createdAt: new Date(T0).toISOString() };
    const rec = await ledger.finish(finishInput({ holder: 'a', outcome: 'cancelled', owed: [owed] }));
    t.equal(rec.state, 'cancelled');
    t.equal(rec.lease, undefined);
    t.same(
      (await ledger.listDeadLetters('lineage-1')).map((l) => l.key),
      ['lineage-1/notify/cancelled'],
    );
  });

  withLedger('a named lease is held by one holder until it expires', async (t, ledger) => {
    t.equal(await ledger.tryLease('sweep', 'a', 1000, T0), true);
    t.equal(await ledger.tryLease('sweep', 'b', 1000, T0 + 500), false);
    t.equal(await ledger.tryLease('sweep', 'a', 1000, T0 + 500), true, 'the holder renews');
    t.equal(await ledger.tryLease('sweep', 'b', 1000, T0 + 1500), true, 'taken over once expired');
    t.equal(await ledger.tryLease('sweep', 'a', 1000, T0 + 1600), false);
  });

  withLedger('begin keeps the replay source and replayOf of the first delivery only', async (t, ledger) => {
    const source = { type: 'echo', args: { a: 1 }, data: [[1, 2], { deep: [true] }] };
    await ledger.begin(beginInput({ source, replayOf: 'older' }));
    await ledger.finish(finishInput({ outcome: 'retry' }));
    await ledger.begin(beginInput({ headerAttempt: 2, source: { type: 'other' }, replayOf: 'x' }));
    const rec = await ledger.get('lineage-1');
    t.same(rec?.source, source, 'nested data survives; a later delivery does not replace it');
    t.equal(rec?.replayOf, 'older');
    const [listed] = (await ledger.list({ pageSize: 1 })).records;
    t.same(listed?.source, source, 'list returns it too');
  });

  withLedger('setStatusText shows on the record; an unknown lineage is ignored', async (t, ledger) => {
    await ledger.begin(beginInput());
    await ledger.setStatusText('lineage-1', 'step 2 of 5', T0 + 10);
    t.equal((await ledger.get('lineage-1'))?.statusText, 'step 2 of 5');
    await ledger.setStatusText('lineage-1', 'step 3 of 5', T0 + 20);
    t.equal((await ledger.get('lineage-1'))?.statusText, 'step 3 of 5', 'last write wins');
    await ledger.finish(finishInput({ outcome: 'retry' }));
    t.equal((await ledger.get('lineage-1'))?.statusText, 'step 3 of 5', 'kept across finish');
    await ledger.setStatusText('nobody', 'x', T0);
    t.equal(await ledger.get('nobody'), undefined, 'no record is created');
  });

  withLedger('cancel with neverRun records an unknown lineage as cancelled with no attempts', async (t, ledger) => {
    const rec = await ledger.cancel('queued-only', T0, { queue: 'incoming', type: 'echo' });
    t.match(rec, { id: 'queued-only', state: 'cancelled', type: 'echo', queue: 'incoming', tier: 0, attempts: {}, history: [] });
    t.equal(rec?.expiresAt, new Date(T0 + TTL_MS).toISOString());
    t.same(await ledger.get('queued-only'), rec);
    const late = await ledger.begin(beginInput({ id: 'queued-only' }));
    t.ok(late.duplicate, 'a delivery that still arrives does not run');
  });

  withLedger('list pages newest first, id descending on equal createdAt, and filters', async (t, ledger) => {
    const make = async (id: string, at: number, over: Partial<BeginInput> = {}, outcome?: FinishInput['outcome']) => {
      await ledger.begin(beginInput({ id, now: at, ...over }));
      if (outcome) await ledger.finish(finishInput({ id, now: at, outcome }));
    };
    await make('a', T0 + 1, { type: 'echo' }, 'succeeded');
    await make('b', T0 + 2, { type: 'exec' }, 'failed');
    await make('c', T0 + 3, { type: 'echo', tier: 1, queue: 'retry-slow' });
    await make('d', T0 + 3, { type: 'exec' }, 'retry');
    await make('e', T0 + 5, { type: 'echo' }, 'failed');
    const all: string[] = [];
    let after: ListCursor | undefined;
    let pages = 0;
    do {
      const page = await ledger.list({ pageSize: 2, ...(after ? { after } : {}) });
      t.ok(page.records.length <= 2, 'a page holds at most pageSize records');
      all.push(...page.records.map((r) => r.id));
      after = page.next;
      pages++;
    } while (after && pages < 10);
    t.same(all, ['e', 'd', 'c', 'b', 'a'], 'newest first; d before c at the same createdAt');
    t.equal(pages, 3);
    const ids = async (q: Partial<ListQuery>) => (await ledger.list({ pageSize: 50, ...q })).records.map((r) => r.id);
    t.same(await ids({ state: 'failed' }), ['e', 'b']);
    t.same(await ids({ type: 'echo' }), ['e', 'c', 'a']);
    t.same(await ids({ type: 'echo', state: 'failed' }), ['e']);
    t.same(await ids({ queue: 'retry-slow' }), ['c']);
    t.same(await ids({ since: new Date(T0 + 2).toISOString(), until: new Date(T0 + 5).toISOString() }), ['d', 'c', 'b'], 'since inclusive, until exclusive');
    t.same(await ids({ state: 'cancelled' }), []);
    const last = await ledger.list({ pageSize: 5 });
    t.equal(last.next, undefined, 'no next token when nothing follows');
    t.match(last.records[0], { id: 'e', state: 'failed', type: 'echo' }, 'list returns whole records');
  });

  withLedger('ping resolves on a healthy ledger', async (t, ledger) => {
    await t.resolves(ledger.ping());
  });

  withLedger('begin keeps the job reference and labels on the lineage', async (t, ledger) => {
    const job = { id: 'job-a', size: 3, index: 1, name: 'second' };
    const res = await ledger.begin(beginInput({ id: 'job-a-1', job, labels: { business: 'acme' } }));
    t.same(res.record.job, job);
    t.same(res.record.labels, { business: 'acme' });
    t.same((await ledger.get('job-a-1'))?.job, job);
  });

  withLedger('jobTaskEnded counts each lineage once and completes the job exactly once', async (t, ledger) => {
    t.equal(await ledger.getJob('job-b'), undefined, 'no record before a task ended');
    const end = (lineage: string, state: 'succeeded' | 'failed' | 'cancelled', now = T0) =>
      ledger.jobTaskEnded({ job: 'job-b', size: 3, lineage, state, now, labels: { business: 'acme' }, ...(state === 'failed' ? { error: ERR } : {}) });
    const first = await end('job-b-0', 'succeeded');
    t.equal(first.completed, false);
    t.same(first.record.counts, { succeeded: 1, failed: 0, cancelled: 0 });
    t.same(first.record.labels, { business: 'acme' });
    const again = await end('job-b-0', 'failed');
    t.equal(again.completed, false);
    t.same(again.record.counts, { succeeded: 1, failed: 0, cancelled: 0 }, 'a second end of the same lineage changes nothing');
    t.equal((await end('job-b-1', 'failed')).completed, false);
    const last = await end('job-b-2', 'cancelled', T0 + 5);
    t.equal(last.completed, true, 'the last end completes the job');
    t.equal(last.record.completedAt, new Date(T0 + 5).toISOString());
    t.same(last.record.counts, { succeeded: 1, failed: 1, cancelled: 1 });
    t.same(last.record.ended['job-b-1'], { state: 'failed', error: ERR });
    t.equal((await end('job-b-2', 'cancelled')).completed, false, 'never completed twice');
    const stored = await ledger.getJob('job-b');
    t.same(stored?.counts, { succeeded: 1, failed: 1, cancelled: 1 });
    t.equal(stored?.size, 3);
    t.ok(stored?.expiresAt, 'a completed job expires like a finished lineage');
  });
}
