// Dispatch fidelity against a local target, with a manual clock: no sleeps.
import t, { type Test } from 'tap';
import { loadConfig } from '../../src/config.ts';
import { ManualClock } from '../../src/emulator/clock.ts';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.ts';
import { api, PARENT, type RecordedPush, type Reply, startTarget, type Target, waitFor } from './helpers.ts';

// Whole seconds near real time: OIDC tokens carry this clock's iat/exp and are verified against real time.
const START = Math.floor(Date.now() / 1000) * 1000;

async function setup(
  t: Test,
  reply?: (p: unknown, n: number) => Reply,
  retry: Record<string, unknown> = { minBackoff: '1s', maxBackoff: '60s', maxDoublings: 16, maxAttempts: 100 },
) {
  const clock = new ManualClock(START);
  const emu = await startEmulator({ clock, logger: false });
  const target = await startTarget(reply);
  t.teardown(async () => {
    await emu.close();
    await target.close();
  });
  await emu.ensureQueue('test-project', 'us-central1', 'q', retry);
  const step = async (ms: number) => {
    clock.advance(ms);
    await emu.idle();
  };
  return { clock, emu, target, step };
}

async function createTask(emu: RunningEmulator, target: Target, task: Record<string, unknown> = {}, settle = true) {
  const res = await api(emu.url, 'POST', `${PARENT}/queues/q/tasks`, { task: { httpRequest: { url: `${target.url}/work` }, ...task } });
  if (res.status !== 200) throw new Error(`createTask: ${res.status} ${JSON.stringify(res.json)}`);
  if (settle) await emu.idle();
  return res.json;
}

t.test('503 then 404 then 200 gives the recorded header sequence, then the task is gone and its name taken', async (t) => {
  const statuses = [503, 404, 200];
  const { emu, target, step } = await setup(t, (_p, n) => ({ status: statuses[n] ?? 200 }));
  await createTask(emu, target, {
    name: `${PARENT}/queues/q/tasks/t1`,
    httpRequest: { url: `${target.url}/work`, body: Buffer.from('{"a":1}').toString('base64') },
  });
  t.equal(target.pushes.length, 1, 'first attempt right away');
  await step(1000);
  t.equal(target.pushes.length, 2, 'second attempt after minBackoff');
  await step(1999);
  t.equal(target.pushes.length, 2, 'not before the doubled backoff');
  await step(1);
  t.equal(target.pushes.length, 3);
  const table = target.pushes.map((p) => [
    p.headers['x-cloudtasks-taskretrycount'],
    p.headers['x-cloudtasks-taskexecutioncount'],
    p.headers['x-cloudtasks-taskpreviousresponse'],
  ]);
  t.same(table, [
    ['0', '0', undefined],
    ['1', '0', '503'],
    ['2', '1', '404'],
  ]);
  const first = target.pushes[0];
  t.equal(first.method, 'POST');
  t.equal(first.url, '/work');
  t.equal(first.body.toString(), '{"a":1}');
  t.equal(first.headers['x-cloudtasks-queuename'], 'q');
  t.equal(first.headers['x-cloudtasks-taskname'], 't1');
  t.equal(first.headers['user-agent'], 'Google-Cloud-Tasks');
  t.equal(first.headers['content-type'], undefined, 'no Content-Type added');
  t.equal(first.headers.authorization, undefined);
  t.equal(first.headers['x-cloudtasks-taskretryreason'], undefined);
  t.equal(target.pushes[1].headers['x-cloudtasks-taskretryreason'], 'UNAVAILABLE');
  t.equal(first.headers['x-cloudtasks-tasketa'], (START / 1000).toFixed(6));
  t.equal(target.pushes[2].headers['x-cloudtasks-tasketa'], ((START + 3000) / 1000).toFixed(6));
  t.equal((await api(emu.url, 'GET', `${PARENT}/queues/q/tasks/t1`)).status, 404, 'deleted after 2xx');
  const again = await api(emu.url, 'POST', `${PARENT}/queues/q/tasks`, { task: { name: `${PARENT}/queues/q/tasks/t1`, httpRequest: { url: target.url } } });
  t.equal(again.status, 409);
  t.equal(again.json.error.status, 'ALREADY_EXISTS');
});

t.test('the task JSON keeps dispatchCount, responseCount and attempts current', async (t) => {
  const { emu, target } = await setup(t, () => ({ status: 500 }));
  await createTask(emu, target, { name: `${PARENT}/queues/q/tasks/counted` });
  const got = (await api(emu.url, 'GET', `${PARENT}/queues/q/tasks/counted`)).json;
  t.equal(got.dispatchCount, 1);
  t.equal(got.responseCount, 1);
  t.equal(got.firstAttempt.dispatchTime, new Date(START).toISOString());
  t.equal(got.lastAttempt.scheduleTime, new Date(START).toISOString());
  t.equal(got.lastAttempt.responseTime, new Date(START).toISOString());
  t.equal(got.lastAttempt.responseStatus.code, 13);
  t.equal(got.scheduleTime, new Date(START + 1000).toISOString(), 'next attempt after minBackoff');
});

t.test('backoff gaps follow min(max, min * 2^min(n-1,d) * max(1, n-d))', async (t) => {
  const { emu, target, step } = await setup(t, () => ({ status: 500 }), { minBackoff: '10s', maxBackoff: '300s', maxDoublings: 3, maxAttempts: 9 });
  await createTask(emu, target);
  const times: number[] = [0];
  for (let s = 1; s <= 2000 && target.pushes.length < 9; s++) {
    const before = target.pushes.length;
    await step(1000);
    if (target.pushes.length > before) times.push(s);
  }
  const gaps = times.slice(1).map((x, i) => x - times[i]);
  t.same(gaps, [10, 20, 40, 80, 160, 240, 300, 300]);
});

t.test('retries stop when maxAttempts is reached and the duration limit is zero', async (t) => {
  const { emu, target, step } = await setup(t, () => ({ status: 500 }), { minBackoff: '1s', maxBackoff: '1s', maxAttempts: 3 });
  await createTask(emu, target, { name: `${PARENT}/queues/q/tasks/limited` });
  for (let i = 0; i < 10; i++) await step(1000);
  t.equal(target.pushes.length, 3);
  t.equal((await api(emu.url, 'GET', `${PARENT}/queues/q/tasks/limited`)).status, 404, 'deleted when exhausted');
});

t.test('retries go on past maxAttempts until maxRetryDuration has also passed', async (t) => {
  const { emu, target, step } = await setup(t, () => ({ status: 500 }), { minBackoff: '1s', maxBackoff: '1s', maxAttempts: 2, maxRetryDuration: '10s' });
  await createTask(emu, target);
  for (let i = 0; i < 30; i++) await step(1000);
  // Attempts at 0..10 s; the one at 10 s fails with 10 s elapsed: both limits reached.
  t.equal(target.pushes.length, 11);
});

t.test('maxAttempts -1 retries without end', async (t) => {
  const { emu, target, step } = await setup(t, () => ({ status: 500 }), { minBackoff: '1s', maxBackoff: '1s', maxAttempts: -1, maxRetryDuration: '5s' });
  await createTask(emu, target);
  for (let i = 0; i < 50; i++) await step(1000);
  t.equal(target.pushes.length, 51);
});

t.test('Retry-After on 429 delays the retry beyond the backoff', async (t) => {
  const { emu, target, step } = await setup(t, (_p, n) => (n === 0 ? { status: 429, headers: { 'Retry-After': '30' } } : { status: 200 }));
  await createTask(emu, target);
  await step(29_000);
  t.equal(target.pushes.length, 1, 'held for the Retry-After time, not minBackoff');
  await step(1000);
  t.equal(target.pushes.length, 2);
});

t.test('a dispatch deadline aborts the push and counts a failed attempt without a response', async (t) => {
  const { emu, target, step } = await setup(t, (_p, n) => (n === 0 ? 'hang' : { status: 200 }));
  await createTask(emu, target, { name: `${PARENT}/queues/q/tasks/slow`, dispatchDeadline: '15s' }, false);
  await waitFor(() => target.pushes.length === 1);
  await step(15_000);
  const got = (await api(emu.url, 'GET', `${PARENT}/queues/q/tasks/slow`)).json;
  t.equal(got.dispatchCount, 1);
  t.equal(got.responseCount, undefined, 'no response counted');
  t.equal(got.lastAttempt.responseStatus.code, 4, 'DEADLINE_EXCEEDED');
  await step(1000);
  t.equal(target.pushes.length, 2);
  t.equal(target.pushes[1].headers['x-cloudtasks-taskretrycount'], '1');
  t.equal(target.pushes[1].headers['x-cloudtasks-taskexecutioncount'], '0');
});

t.test('a paused queue holds tasks; resume releases them; run dispatches even when paused', async (t) => {
  const { emu, target, step } = await setup(t);
  t.equal((await api(emu.url, 'POST', `${PARENT}/queues/q:pause`, {})).json.state, 'PAUSED');
  await createTask(emu, target, { name: `${PARENT}/queues/q/tasks/a` });
  await createTask(emu, target, { name: `${PARENT}/queues/q/tasks/b` });
  await step(60_000);
  t.equal(target.pushes.length, 0, 'nothing dispatched while paused');
  const run = await api(emu.url, 'POST', `${PARENT}/queues/q/tasks/a:run`, {});
  t.equal(run.status, 200);
  t.equal(run.json.dispatchCount, 1);
  await emu.idle();
  t.same(
    target.pushes.map((p) => p.headers['x-cloudtasks-taskname']),
    ['a'],
  );
  t.equal((await api(emu.url, 'POST', `${PARENT}/queues/q:resume`, {})).json.state, 'RUNNING');
  await emu.idle();
  t.same(
    target.pushes.map((p) => p.headers['x-cloudtasks-taskname']),
    ['a', 'b'],
  );
});

t.test('a future scheduleTime waits; its ETA header is that time', async (t) => {
  const { emu, target, step } = await setup(t);
  const at = START + 90_500;
  await createTask(emu, target, { scheduleTime: new Date(at).toISOString() });
  await step(90_000);
  t.equal(target.pushes.length, 0);
  await step(500);
  t.equal(target.pushes.length, 1);
  t.equal(target.pushes[0].headers['x-cloudtasks-tasketa'], (at / 1000).toFixed(6));
});

t.test('the rate limit holds under a burst of 1,000 tasks', async (t) => {
  const { emu, target, step } = await setup(t);
  const upd = await api(emu.url, 'PATCH', `${PARENT}/queues/q?updateMask=rateLimits.maxDispatchesPerSecond`, { rateLimits: { maxDispatchesPerSecond: 10 } });
  t.equal(upd.json.rateLimits.maxBurstSize, 2);
  const creates = [];
  for (let i = 0; i < 1000; i++) creates.push(api(emu.url, 'POST', `${PARENT}/queues/q/tasks`, { task: { httpRequest: { url: target.url } } }));
  const results = await Promise.all(creates);
  t.ok(
    results.every((r) => r.status === 200),
    'all created',
  );
  await emu.idle();
  const perSecond: number[] = [];
  for (let s = 0; s < 10; s++) {
    const before = target.pushes.length;
    for (let i = 0; i < 10; i++) await step(100);
    perSecond.push(target.pushes.length - before);
  }
  const initial = target.pushes.length - perSecond.reduce((a, b) => a + b, 0);
  t.ok(initial <= 2, `at most the burst at once (${initial})`);
  for (const n of perSecond) t.ok(n <= 10 && n >= 9, `about 10 per simulated second (${n})`);
});

t.test('maxConcurrentDispatches caps pushes awaiting a response', async (t) => {
  const { emu, target, clock } = await setup(t, () => 'hang');
  await api(emu.url, 'PATCH', `${PARENT}/queues/q?updateMask=rateLimits.maxConcurrentDispatches`, { rateLimits: { maxConcurrentDispatches: 3 } });
  for (let i = 0; i < 10; i++) await createTask(emu, target, {}, false);
  await waitFor(() => target.pushes.length === 3);
  clock.advance(1000);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(target.pushes.length, 3, 'no fourth push while three await a response');
});

t.test('headers the task sets are sent; a task without Content-Type gets none', async (t) => {
  const { emu, target } = await setup(t);
  await createTask(emu, target, {
    httpRequest: {
      url: `${target.url}/x?y=1`,
      httpMethod: 'PUT',
      headers: { 'X-Custom': 'v', 'Content-Type': 'text/plain', 'User-Agent': 'mine' },
      body: Buffer.from('hi').toString('base64url'),
    },
  });
  await createTask(emu, target, { httpRequest: { url: `${target.url}/y`, httpMethod: 2 } });
  const [put, get] = target.pushes;
  t.equal(put.method, 'PUT');
  t.equal(put.url, '/x?y=1');
  t.equal(put.headers['x-custom'], 'v');
  t.equal(put.headers['content-type'], 'text/plain');
  t.equal(put.headers['user-agent'], 'Google-Cloud-Tasks', 'User-Agent is Cloud Tasks’ own');
  t.equal(put.body.toString(), 'hi');
  t.equal(get.method, 'GET', 'numeric enum 2 = GET');
  t.equal(get.headers['content-type'], undefined);
});

t.test('an OIDC token signed by the emulator rides on the push, audience defaulting to the URL', async (t) => {
  const { emu, target } = await setup(t);
  const { OAuth2Client } = await import('google-auth-library');
  await createTask(emu, target, {
    httpRequest: {
      url: `${target.url}/secure?a=b`,
      headers: { Authorization: 'Bearer user-set' },
      oidcToken: { serviceAccountEmail: 'invoker@test-project.iam.gserviceaccount.com' },
    },
  });
  await createTask(emu, target, {
    httpRequest: {
      url: `${target.url}/secure`,
      oidcToken: { serviceAccountEmail: 'invoker@test-project.iam.gserviceaccount.com', audience: 'https://worker.example' },
    },
  });
  const client = new OAuth2Client();
  const certs = (await (await fetch(`${emu.url}/oauth2/v1/certs`)).json()) as Record<string, string>;
  for (const [push, audience] of [
    [target.pushes[0], `${target.url}/secure?a=b`],
    [target.pushes[1], 'https://worker.example'],
  ] as const) {
    const auth = String(push.headers.authorization);
    t.match(auth, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const ticket = await client.verifySignedJwtWithCertsAsync(auth.slice(7), certs, audience, [emu.url]);
    t.equal(ticket.getPayload()?.email, 'invoker@test-project.iam.gserviceaccount.com');
    t.equal(ticket.getPayload()?.aud, audience);
  }
});

t.test('tasks go in due order whatever order they were created in, and a retried one once per attempt', async (t) => {
  const { emu, target, step } = await setup(t, (p, n) => ({ status: (p as RecordedPush).headers['x-cloudtasks-taskname'] === 'a' && n === 0 ? 503 : 200 }), {
    minBackoff: '1.5s',
    maxBackoff: '1.5s',
    maxAttempts: 5,
  });
  for (const [name, ms] of [
    ['c', 3000],
    ['a', 1000],
    ['b', 2000],
  ] as const)
    await createTask(emu, target, { name: `${PARENT}/queues/q/tasks/${name}`, scheduleTime: new Date(START + ms).toISOString() });
  for (let i = 0; i < 8; i++) await step(500);
  t.same(
    target.pushes.map((p) => [p.headers['x-cloudtasks-taskname'], p.headers['x-cloudtasks-taskretrycount']]),
    [
      ['a', '0'],
      ['b', '0'],
      ['a', '1'],
      ['c', '0'],
    ],
  );
  t.same((await api(emu.url, 'GET', `${PARENT}/queues/q/tasks`)).json.tasks ?? [], [], 'all done');
});

t.test('with maxDispatchesPerSecond raised (EMULATOR_MAX_RATE) one queue goes past 500/s, within its own limit', async (t) => {
  const clock = new ManualClock(START);
  const emu = await startEmulator({ clock, logger: false, maxDispatchesPerSecond: 10_000 });
  const target = await startTarget();
  t.teardown(async () => {
    await emu.close();
    await target.close();
  });
  const over = await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/over`, rateLimits: { maxDispatchesPerSecond: 10_001 } });
  t.equal(over.status, 400, 'the raised cap still holds');
  t.match(over.json.error.message, /\(0, 10000\]/);
  const q = await api(emu.url, 'POST', `${PARENT}/queues`, {
    name: `${PARENT}/queues/fast`,
    rateLimits: { maxDispatchesPerSecond: 800, maxConcurrentDispatches: 5000 },
  });
  t.equal(q.status, 200);
  t.same(q.json.rateLimits, { maxDispatchesPerSecond: 800, maxBurstSize: 160, maxConcurrentDispatches: 5000 });
  await api(emu.url, 'POST', `${PARENT}/queues/fast:pause`, {});
  for (let i = 0; i < 1200; i += 100)
    await Promise.all(Array.from({ length: 100 }, () => api(emu.url, 'POST', `${PARENT}/queues/fast/tasks`, { task: { httpRequest: { url: target.url } } })));
  await api(emu.url, 'POST', `${PARENT}/queues/fast:resume`, {});
  await emu.idle();
  const burst = target.pushes.length;
  for (let i = 0; i < 10; i++) {
    clock.advance(100);
    await emu.idle();
  }
  const inOneSecond = target.pushes.length - burst;
  t.equal(burst, 160, 'the burst at once');
  t.ok(inOneSecond >= 790 && inOneSecond <= 800, `about 800 in the next simulated second (${inOneSecond})`);
});

t.test('a default emulator keeps Cloud Tasks’ 500/s cap and burst', async (t) => {
  const emu = await startEmulator({ clock: new ManualClock(START), logger: false });
  t.teardown(() => emu.close());
  const r = await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/x`, rateLimits: { maxDispatchesPerSecond: 501 } });
  t.equal(r.status, 400);
  t.match(r.json.error.message, /\(0, 500\]/);
  const ok = await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/y`, rateLimits: { maxDispatchesPerSecond: 500 } });
  t.equal(ok.json.rateLimits.maxBurstSize, 100);
});

t.test('EMULATOR_MAX_RATE is read as a whole number, and a bad one names the variable', async (t) => {
  t.equal(loadConfig({ EMULATOR_MAX_RATE: '20000' }, 'emulator').emulatorMaxRate, 20_000);
  t.equal(loadConfig({}, 'emulator').emulatorMaxRate, undefined);
  t.throws(() => loadConfig({ EMULATOR_MAX_RATE: 'fast' }, 'emulator'), /EMULATOR_MAX_RATE/);
});

t.test('a push carries credentials written in the task URL as Basic auth, and Content-Length 0 on a POST without a body', async (t) => {
  const { emu, target } = await setup(t);
  const url = new URL(`${target.url}/work`);
  url.username = 'user';
  url.password = 'p w';
  await createTask(emu, target, { httpRequest: { url: url.toString() } });
  t.equal(target.pushes.length, 1);
  t.equal(target.pushes[0]!.headers.authorization, `Basic ${Buffer.from('user:p w').toString('base64')}`);
  t.equal(target.pushes[0]!.headers['content-length'], '0');
  t.equal(target.pushes[0]!.url, '/work');
});
