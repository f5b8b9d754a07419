// One test per row of the delivery decision table (DESIGN §3), through
// POST /tasks with app.inject, over the memory ledger and recording doubles.

import pino from 'pino';
import t from 'tap';
import { buildApp, type Deps } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { JobContext, JobResult } from '../../src/interfaces.ts';
import { PermanentError, RetryableError } from '../../src/jobs/errors.ts';
import { createRegistry } from '../../src/jobs/registry.ts';
import { createMemoryLedger } from '../../src/ledger/memory-ledger.ts';
import { nextTierTaskName } from '../../src/queues/tier-names.ts';
import { manualClock, RecordingNotifier, RecordingQueue, scriptedJob } from '../helpers/doubles.ts';

type Behaviour = (args: Record<string, unknown>, data: unknown, ctx: JobContext) => Promise<JobResult>;

function setup(t: { teardown(fn: () => unknown): void }, opts: { env?: Record<string, string>; behaviour?: Behaviour } = {}) {
  const config = loadConfig(
    {
      CHAIN: 'incoming:3,incoming-2:2',
      SERVICE_URL: 'http://worker.test',
      NOTIFY_ON: 'all',
      GOOGLE_CLOUD_PROJECT: 'p',
      LOCATION: 'l',
      INVOKER_SERVICE_ACCOUNT: 'invoker@p.iam.gserviceaccount.com',
      ...opts.env,
    },
    'dev',
  );
  const queue = new RecordingQueue();
  const notifier = new RecordingNotifier();
  const clock = manualClock();
  // The ledger reads the same clock as the delivery: records stamped by the
  // manual clock must not look expired by the wall clock a day later.
  const ledger = createMemoryLedger({ clock });
  const job = scriptedJob('work', opts.behaviour ?? (async () => ({ state: 'succeeded', result: { ok: true } })));
  const deps: Deps = { ledger, queue, notifier, registry: createRegistry([job]), clock, logger: pino({ level: 'silent' }) };
  const built = buildApp(config, deps);
  t.teardown(() => built.app.close());
  const push = (body: unknown, headers: Record<string, string> = {}) =>
    built.app.inject({
      method: 'POST',
      url: '/tasks',
      headers: { 'x-cloudtasks-queuename': 'incoming', 'x-cloudtasks-taskname': 'task-1', ...headers },
      payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });
  return { config, queue, notifier, ledger, clock, job, built, push };
}

const retryHeaders = (retry: number, exec = 0) => ({
  'x-cloudtasks-taskretrycount': String(retry),
  'x-cloudtasks-taskexecutioncount': String(exec),
});

t.test('a job that succeeds answers 200, records succeeded and notifies succeeded', async (t) => {
  const s = setup(t);
  const res = await s.push({ type: 'work', args: { a: 1 }, data: { x: 2 } });
  t.equal(res.statusCode, 200);
  t.equal(res.json().outcome, 'succeeded');
  const rec = await s.ledger.get('task-1');
  t.equal(rec?.state, 'succeeded');
  t.same(rec?.result, { ok: true });
  t.same(s.notifier.types(), ['executor.task.succeeded']);
  t.equal(s.notifier.events[0]!.event.id, 'task-1/succeeded');
  t.equal(s.job.calls.length, 1);
});

t.test('the job receives its args, data, attempt and a signal', async (t) => {
  let seen: { args: unknown; data: unknown; ctx?: JobContext } = { args: undefined, data: undefined };
  const s = setup(t, {
    behaviour: async (args, data, ctx) => {
      seen = { args, data, ctx };
      return { state: 'succeeded' };
    },
  });
  await s.push({ type: 'work', args: { a: 1 }, data: { x: 2 } }, retryHeaders(1));
  t.same(seen.args, { a: 1 });
  t.same(seen.data, { x: 2 });
  t.equal(seen.ctx?.attempt, 2);
  t.equal(seen.ctx?.final, false);
  t.equal(seen.ctx?.signal.aborted, false);
});

t.test('a duplicate delivery after success does not run the job again', async (t) => {
  const s = setup(t);
  await s.push({ type: 'work' });
  const again = await s.push({ type: 'work' }, retryHeaders(1, 1));
  t.equal(again.statusCode, 200);
  t.equal(again.json().outcome, 'duplicate');
  t.equal(s.job.calls.length, 1);
  t.equal(s.notifier.events.length, 1, 'no second notification');
});

t.test('malformed bodies are acknowledged with 2xx and a failed notification, never 5xx', async (t) => {
  const cases: Array<[string, string | Buffer, Record<string, string>]> = [
    ['invalid JSON', '{"type": ', {}],
    ['empty body', '', {}],
    ['wrong shape', JSON.stringify([1, 2, 3]), {}],
    ['missing type', JSON.stringify({ args: {} }), {}],
    ['unknown job type', JSON.stringify({ type: 'nope' }), {}],
    ['no Content-Type', JSON.stringify({ type: 'nope' }), {}],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x01]), { 'content-type': 'application/octet-stream' }],
  ];
  for (const [name, body, headers] of cases) {
    const s = setup(t);
    const res = await s.push(body, { 'x-cloudtasks-taskname': `bad-${cases.findIndex((c) => c[0] === name)}`, ...headers });
    t.equal(res.statusCode, 200, `${name}: 200`);
    t.equal(res.json().outcome, 'failed', `${name}: failed`);
    t.equal(res.json().error.permanent, true, `${name}: permanent`);
    t.same(s.notifier.types(), ['executor.task.failed'], `${name}: one failed notification`);
    t.equal(s.queue.created.length, 0, `${name}: nothing forwarded`);
    t.equal(s.job.calls.length, 0, `${name}: nothing ran`);
  }
});

t.test('a body sent without any Content-Type is still parsed as JSON', async (t) => {
  const s = setup(t);
  const res = await s.built.app.inject({
    method: 'POST',
    url: '/tasks',
    headers: { 'x-cloudtasks-taskname': 'no-ct' },
    payload: Buffer.from(JSON.stringify({ type: 'work' })),
  });
  t.equal(res.statusCode, 200);
  t.equal(res.json().outcome, 'succeeded');
});

t.test('bad job arguments are a permanent failure with the argument named', async (t) => {
  const s = setup(t, {
    behaviour: async () => {
      throw new PermanentError('argument "url" is not set', { code: 'ArgNotSet' });
    },
  });
  const res = await s.push({ type: 'work' });
  t.equal(res.statusCode, 200);
  t.equal(res.json().outcome, 'failed');
  t.match(res.json().error.message, /url/);
  t.equal(s.queue.created.length, 0);
});

t.test('a permanent job failure answers 200, notifies failed and never forwards, even on the final attempt', async (t) => {
  const s = setup(t, { behaviour: async () => ({ state: 'failed', error: { code: 'Bad', message: 'no', permanent: true } }) });
  const res = await s.push({ type: 'work' }, retryHeaders(2));
  t.equal(res.statusCode, 200);
  t.equal(res.json().outcome, 'failed');
  t.same(s.notifier.types(), ['executor.task.failed']);
  t.equal(s.queue.created.length, 0);
  t.equal((await s.ledger.get('task-1'))?.state, 'failed');
});

t.test('a retryable failure before the final attempt answers 503 and records the error', async (t) => {
  const s = setup(t, { behaviour: async () => ({ state: 'failed', error: { code: 'Flaky', message: 'try later', permanent: false } }) });
  const res = await s.push({ type: 'work' });
  t.equal(res.statusCode, 503);
  t.equal(res.json().outcome, 'retry');
  const rec = await s.ledger.get('task-1');
  t.equal(rec?.state, 'retrying');
  t.equal(rec?.history.at(-1)?.error?.code, 'Flaky');
  t.same(s.notifier.events, []);
});

t.test('a job asking for a delay gets 503 with Retry-After', async (t) => {
  const s = setup(t, {
    behaviour: async () => {
      throw new RetryableError('rate limited upstream', { retryAfterSeconds: 30 });
    },
  });
  const res = await s.push({ type: 'work' });
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '30');
});

t.test('a thrown non-job error is retryable and does not crash the worker', async (t) => {
  const s = setup(t, {
    behaviour: async () => {
      throw new TypeError('undefined is not a function');
    },
  });
  const res = await s.push({ type: 'work' });
  t.equal(res.statusCode, 503);
  t.equal(res.json().error.code, 'TypeError');
  t.equal(res.json().error.permanent, false);
  const health = await s.built.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(health.statusCode, 200);
});

t.test('ExecutionCount stuck at 0 while RetryCount rises: the final attempt forwards exactly at maxAttempts', async (t) => {
  const s = setup(t, { behaviour: async () => ({ state: 'failed', error: { code: 'Down', message: 'x', permanent: false } }) });
  const statuses: number[] = [];
  for (let retry = 0; retry < 3; retry++) statuses.push((await s.push({ type: 'work', args: { k: 'v' } }, retryHeaders(retry, 0))).statusCode);
  t.same(statuses, [503, 503, 200]);
  t.equal(s.queue.created.length, 1);
  const fwd = s.queue.created[0]!;
  t.equal(fwd.queue, 'incoming-2');
  t.equal(fwd.taskName, nextTierTaskName('task-1', 1));
  t.equal(fwd.url, 'http://worker.test/tasks');
  t.equal(fwd.headers?.['Content-Type'], 'application/json');
  t.same(fwd.oidc, { serviceAccountEmail: 'invoker@p.iam.gserviceaccount.com', audience: 'http://worker.test/tasks' });
  const env = JSON.parse(fwd.body.toString());
  t.equal(env.id, 'task-1');
  t.equal(env.tier, 1);
  t.same(env.args, { k: 'v' });
  t.equal(env.history.length, 3, 'the three tier-0 attempts travel with the task');
  t.same(s.notifier.types(), ['executor.task.forwarded']);
  t.equal((await s.ledger.get('task-1'))?.state, 'forwarded');
});

t.test('retry headers stripped: the ledger alone counts attempts', async (t) => {
  const s = setup(t, { behaviour: async () => ({ state: 'failed', error: { code: 'Down', message: 'x', permanent: false } }) });
  const plain = (body: unknown) =>
    s.built.app.inject({ method: 'POST', url: '/tasks', headers: { 'x-cloudtasks-taskname': 'task-1' }, payload: JSON.stringify(body) });
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await plain({ type: 'work' })).statusCode);
  t.same(statuses, [503, 503, 200]);
  t.equal(s.queue.created.length, 1, 'forwarded on the third attempt');
});

t.test('garbled retry headers are tolerated and recorded, never a crash', async (t) => {
  const s = setup(t);
  const res = await s.push(
    { type: 'work' },
    {
      'x-cloudtasks-taskretrycount': 'banana',
      'x-cloudtasks-taskexecutioncount': '-4',
      'x-cloudtasks-tasketa': 'soon',
      'x-cloudtasks-taskpreviousresponse': 'x',
    },
  );
  t.equal(res.statusCode, 200);
  t.equal(res.json().attempt, 1);
});

t.test('a delivery of the next tier counts its attempts afresh', async (t) => {
  const s = setup(t, { behaviour: async () => ({ state: 'failed', error: { code: 'Down', message: 'x', permanent: false } }) });
  for (let retry = 0; retry < 3; retry++) await s.push({ type: 'work' }, retryHeaders(retry));
  const forwarded = s.queue.created[0]!;
  const tier2 = (retry: number) =>
    s.push(forwarded.body, { 'x-cloudtasks-queuename': 'incoming-2', 'x-cloudtasks-taskname': forwarded.taskName!, ...retryHeaders(retry) });
  t.equal((await tier2(0)).statusCode, 503);
  const last = await tier2(1);
  t.equal(last.statusCode, 200, 'tier 2 has 2 attempts; the last tier fails for good');
  t.equal(last.json().outcome, 'failed');
  t.same(s.notifier.types(), ['executor.task.forwarded', 'executor.task.failed']);
  const rec = await s.ledger.get('task-1');
  t.equal(rec?.state, 'failed');
  t.same(rec?.attempts, { '0': 3, '1': 2 });
  // A late redelivery of tier 0 is a duplicate: nothing runs.
  const calls = s.job.calls.length;
  t.equal((await s.push(forwarded.body, retryHeaders(5))).json().outcome, 'duplicate');
  t.equal(s.job.calls.length, calls);
});

t.test('a job that succeeds on tier 2 ends in one succeeded notification', async (t) => {
  let n = 0;
  const s = setup(t, {
    behaviour: async () => (++n >= 4 ? { state: 'succeeded', result: 'ok' } : { state: 'failed', error: { code: 'Down', message: 'x', permanent: false } }),
  });
  for (let retry = 0; retry < 3; retry++) await s.push({ type: 'work' }, retryHeaders(retry));
  const fwd = s.queue.created[0]!;
  const res = await s.push(fwd.body, { 'x-cloudtasks-queuename': 'incoming-2', 'x-cloudtasks-taskname': fwd.taskName! });
  t.equal(res.json().outcome, 'succeeded');
  t.same(s.notifier.types(), ['executor.task.forwarded', 'executor.task.succeeded']);
});

t.test('forwarding the same lineage twice creates one task (deterministic name)', async (t) => {
  const s = setup(t, { behaviour: async () => ({ state: 'failed', error: { code: 'Down', message: 'x', permanent: false } }) });
  for (let retry = 0; retry < 3; retry++) await s.push({ type: 'work' }, retryHeaders(retry));
  t.equal(s.queue.created.length, 1);
  t.equal(nextTierTaskName('task-1', 1), nextTierTaskName('task-1', 1));
  t.not(nextTierTaskName('task-1', 1), nextTierTaskName('task-1', 2));
});

t.test('a retryable failure on the final attempt of the last tier notifies failed', async (t) => {
  const s = setup(t, {
    env: { CHAIN: 'only:2' },
    behaviour: async () => ({ state: 'failed', error: { code: 'Down', message: 'x', permanent: false } }),
  });
  t.equal((await s.push({ type: 'work' }, { 'x-cloudtasks-queuename': 'only' })).statusCode, 503);
  const res = await s.push({ type: 'work' }, { 'x-cloudtasks-queuename': 'only', ...retryHeaders(1) });
  t.equal(res.statusCode, 200);
  t.equal(res.json().outcome, 'failed');
  t.equal(s.queue.created.length, 0);
  const failed = s.notifier.events.find((e) => e.event.type === 'executor.task.failed');
  t.equal(failed?.event.data.attempt, 2);
  t.equal(failed?.event.data.maxAttempts, 2);
  t.equal(failed?.event.data.error?.code, 'Down');
});

t.test('an unlimited tier never forwards', async (t) => {
  const s = setup(t, {
    env: { CHAIN: 'forever:unlimited' },
    behaviour: async () => ({ state: 'failed', error: { code: 'Down', message: 'x', permanent: false } }),
  });
  const res = await s.push({ type: 'work' }, { 'x-cloudtasks-queuename': 'forever', ...retryHeaders(500) });
  t.equal(res.statusCode, 503);
  t.equal(s.queue.created.length, 0);
});

/** MAX_CONCURRENCY=1 with one job holding the slot until `release()`. */
async function busyWorker(t: { teardown(fn: () => unknown): void }) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const s = setup(t, {
    env: { MAX_CONCURRENCY: '1' },
    behaviour: async () => {
      await gate;
      return { state: 'succeeded' };
    },
  });
  const first = s.push({ type: 'work' }, { 'x-cloudtasks-taskname': 'busy' });
  await new Promise((r) => setImmediate(r));
  return { s, first, release };
}

t.test('at the concurrency limit, a non-final attempt gets 429 with Retry-After', async (t) => {
  const { s, first, release } = await busyWorker(t);
  const second = await s.push({ type: 'work' }, { 'x-cloudtasks-taskname': 'other' });
  t.equal(second.statusCode, 429);
  t.ok(Number(second.headers['retry-after']) >= 1);
  t.equal((await s.ledger.get('other'))?.state, 'throttled');
  release();
  t.equal((await first).statusCode, 200);
});

t.test('at the concurrency limit, the final attempt runs within the overflow; past it 429, never failed for being busy', async (t) => {
  const { s, first, release } = await busyWorker(t);
  // MAX_CONCURRENCY=1: the overflow for final attempts is 1.
  const final0 = s.push({ type: 'work' }, { 'x-cloudtasks-taskname': 'late', ...retryHeaders(2) });
  for (let i = 0; i < 200 && (await s.ledger.get('late'))?.state !== 'running'; i++) await new Promise((r) => setTimeout(r, 5));
  const finalLast = await s.push({ type: 'work', tier: 1 }, { 'x-cloudtasks-queuename': 'incoming-2', 'x-cloudtasks-taskname': 'late2', ...retryHeaders(1) });
  t.equal(finalLast.statusCode, 429, 'past the overflow: refused, the queue retries');
  t.equal(finalLast.json().outcome, 'throttled');
  const rec = await s.ledger.get('late2');
  t.equal(rec?.state, 'throttled', 'not failed');
  t.equal(rec?.attempts['1'], 1, 'the refused push gave its attempt back');
  release();
  t.equal((await final0).json().outcome, 'succeeded', 'the final attempt ran in the overflow');
  await first;
  const again = await s.push({ type: 'work', tier: 1 }, { 'x-cloudtasks-queuename': 'incoming-2', 'x-cloudtasks-taskname': 'late2', ...retryHeaders(2) });
  t.equal(again.json().outcome, 'succeeded', 'the refused final attempt runs when the queue retries');
  t.equal(again.json().attempt, 2, 'the throttled push was not counted');
});

t.test('forwarding that fails keeps the envelope as a dead letter and answers 500; redrive replays it', async (t) => {
  const s = setup(t, { behaviour: async () => ({ state: 'failed', error: { code: 'Down', message: 'x', permanent: false } }) });
  await s.push({ type: 'work' }, retryHeaders(0));
  await s.push({ type: 'work' }, retryHeaders(1));
  s.queue.failNext = 1;
  const res = await s.push({ type: 'work' }, retryHeaders(2));
  t.equal(res.statusCode, 500);
  t.equal(res.json().outcome, 'owed');
  t.equal((await s.ledger.get('task-1'))?.state, 'forwarded', 'the state and the owed forward were written first');
  const letters = await s.ledger.listDeadLetters('task-1');
  t.same(
    letters.map((l) => l.kind),
    ['forward', 'notify'],
    'the forward and its notification are owed',
  );
  t.equal(letters[0]!.envelope?.tier, 1);
  const redrive = await s.built.app.inject({ method: 'POST', url: '/v1/dead-letters/redrive', payload: { id: 'task-1' } });
  t.same(redrive.json(), { redriven: 2, failed: 0, permanent: 0 });
  t.equal(s.queue.created.length, 1);
  t.equal(s.queue.created[0]!.queue, 'incoming-2');
  t.same(await s.ledger.listDeadLetters('task-1'), []);
  t.equal((await s.ledger.get('task-1'))?.state, 'forwarded');
});

t.test('a notification that fails is a dead letter (500); the next delivery replays it without running the job', async (t) => {
  const s = setup(t);
  s.notifier.failNext = 1;
  const res = await s.push({ type: 'work' });
  t.equal(res.statusCode, 500);
  t.equal((await s.ledger.get('task-1'))?.state, 'succeeded', 'the outcome itself is recorded');
  t.equal((await s.ledger.listDeadLetters('task-1')).length, 1);
  const again = await s.push({ type: 'work' }, retryHeaders(1));
  t.equal(again.statusCode, 200);
  t.equal(again.json().outcome, 'duplicate');
  t.equal(s.job.calls.length, 1, 'the job ran once');
  t.same(s.notifier.types(), ['executor.task.succeeded']);
  t.equal(s.notifier.events[0]!.event.id, 'task-1/succeeded');
  t.same(await s.ledger.listDeadLetters('task-1'), []);
});

t.test('a job that exceeds JOB_TIMEOUT is aborted and retried (RunTimeout)', async (t) => {
  let aborted = false;
  const s = setup(t, {
    env: { JOB_TIMEOUT: '50ms' },
    behaviour: (_a, _d, ctx) =>
      new Promise((resolve) => {
        ctx.signal.addEventListener('abort', () => {
          aborted = true;
          resolve({ state: 'succeeded' });
        });
      }),
  });
  const res = await s.push({ type: 'work' });
  t.equal(res.statusCode, 503);
  t.equal(res.json().error.code, 'RunTimeout');
  t.equal(aborted, true, 'the job saw its signal abort');
});

t.test('a job that ignores its signal cannot hold the reply past the timeout', async (t) => {
  const s = setup(t, { env: { JOB_TIMEOUT: '50ms' }, behaviour: () => new Promise(() => {}) });
  const res = await s.push({ type: 'work' });
  t.equal(res.statusCode, 503);
  t.equal(res.json().error.code, 'RunTimeout');
});

t.test('each running job times out on its own deadline, whatever started and finished between', async (t) => {
  const timeoutMs = 200;
  const s = setup(t, {
    env: { JOB_TIMEOUT: `${timeoutMs}ms` },
    behaviour: (_a, data) => ((data as { hang?: boolean }).hang ? new Promise(() => {}) : Promise.resolve({ state: 'succeeded' })),
  });
  const timed = async (name: string, hang: boolean) => {
    const started = performance.now();
    const res = await s.push({ type: 'work', data: { hang } }, { 'x-cloudtasks-taskname': name });
    return { res, ms: performance.now() - started, started };
  };
  const first = timed('slow-1', true);
  await new Promise((r) => setTimeout(r, 80));
  const quick = await timed('quick', false);
  const second = timed('slow-2', true);
  const [a, b] = await Promise.all([first, second]);
  t.equal(quick.res.statusCode, 200, 'a job that finished in between succeeded');
  for (const [name, r] of [
    ['first', a],
    ['second', b],
  ] as const) {
    t.equal(r.res.statusCode, 503, `${name}: 503`);
    t.equal(r.res.json().error.code, 'RunTimeout', `${name}: RunTimeout`);
    // Never before its own deadline (1 ms of rounding allowed).
    t.ok(r.ms >= timeoutMs - 1, `${name}: aborted after ${r.ms.toFixed(0)} ms, not before its ${timeoutMs} ms`);
  }
  t.ok(b.started + b.ms > a.started + a.ms, 'the later job is aborted later');
});

t.test('shutting down aborts a running job, which answers 503 so Cloud Tasks retries', async (t) => {
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const s = setup(t, {
    behaviour: (_a, _d, ctx) =>
      new Promise((resolve) => {
        started();
        ctx.signal.addEventListener('abort', () => resolve({ state: 'succeeded' }));
      }),
  });
  const pending = s.push({ type: 'work' });
  await running;
  s.built.beginShutdown();
  const res = await pending;
  t.equal(res.statusCode, 503);
  t.equal(res.json().outcome, 'aborted');
  t.equal((await s.built.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
});

t.test('shutdown during the final attempt forwards instead of losing the task', async (t) => {
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const s = setup(t, {
    behaviour: (_a, _d, ctx) =>
      new Promise((resolve) => {
        started();
        ctx.signal.addEventListener('abort', () => resolve({ state: 'succeeded' }));
      }),
  });
  const pending = s.push({ type: 'work' }, retryHeaders(2));
  await running;
  s.built.beginShutdown();
  const res = await pending;
  t.equal(res.json().outcome, 'forwarded');
  t.equal(s.queue.created.length, 1);
});

t.test('GET /v1/tasks/:id returns the lineage record; unknown ids are 404', async (t) => {
  const s = setup(t, { behaviour: async () => ({ state: 'failed', error: { code: 'Down', message: 'x', permanent: false } }) });
  await s.push({ type: 'work' });
  const res = await s.built.app.inject({ method: 'GET', url: '/v1/tasks/task-1' });
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.equal(body.id, 'task-1');
  t.equal(body.state, 'retrying');
  t.equal(body.history[0].outcome, 'retry');
  t.equal(body.history[0].error.code, 'Down');
  t.ok(body.createdAt);
  t.equal((await s.built.app.inject({ method: 'GET', url: '/v1/tasks/nope' })).statusCode, 404);
});

t.test('cancel stops later deliveries from running the job', async (t) => {
  const s = setup(t, { behaviour: async () => ({ state: 'failed', error: { code: 'Down', message: 'x', permanent: false } }) });
  await s.push({ type: 'work' });
  const res = await s.built.app.inject({ method: 'POST', url: '/v1/tasks/task-1/cancel' });
  t.equal(res.statusCode, 200);
  t.equal(res.json().state, 'cancelled');
  t.same(s.queue.deleted[0], { queue: 'incoming', taskName: 'task-1' });
  const calls = s.job.calls.length;
  t.equal((await s.push({ type: 'work' }, retryHeaders(1))).json().outcome, 'duplicate');
  t.equal(s.job.calls.length, calls);
});

t.test('NOTIFY_ON=failed sends no succeeded event', async (t) => {
  const s = setup(t, { env: { NOTIFY_ON: 'failed' } });
  await s.push({ type: 'work' });
  t.same(s.notifier.events, []);
});

t.test('the envelope notify target reaches the notifier', async (t) => {
  const s = setup(t);
  await s.push({ type: 'work', notify: { url: 'https://callback.example/done' } });
  t.same(s.notifier.events[0]!.target, { url: 'https://callback.example/done' });
});

t.test('a large result is not kept inline in the ledger', async (t) => {
  const s = setup(t, { behaviour: async () => ({ state: 'succeeded', result: 'x'.repeat(200 * 1024) }) });
  await s.push({ type: 'work' });
  const rec = await s.ledger.get('task-1');
  t.equal((rec!.result as { truncated?: boolean }).truncated, true);
});
