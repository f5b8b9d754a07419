import t from 'tap';
import { main } from '../../src/cli/main.ts';
import { captureIo, cliEnv, devStack } from './capture-io.ts';

t.test('status of an unknown id exits 1 and says so', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s));
  t.equal(await main(['status', 'never-enqueued'], io), 1);
  t.match(io.stderr, /no task lineage "never-enqueued"/);
  t.equal(io.stdout, '');
});

t.test('status prints state, tier, attempts per tier and the last error', async (t) => {
  const s = await devStack(t);
  const e = captureIo(cliEnv(s));
  t.equal(await main(['enqueue', '--type', 'echo', '--args', '{"fail":"permanent"}', '--name', 'st-1', '--watch'], e), 1);
  const io = captureIo(cliEnv(s));
  t.equal(await main(['status', 'st-1'], io), 0, 'a failed task is still found: exit 0');
  t.match(io.stdout, /state\s+failed/);
  t.match(io.stdout, /tier\s+0 \(incoming\)/);
  t.match(io.stdout, /attempts\s+incoming 1\/2/);
  t.match(io.stdout, /error\s+EchoFailed: .*\(permanent\)/);
  // A shell without the service's CHAIN (default incoming:7) still shows the service's limit of the tier.
  const { CHAIN: _chain, ...withoutChain } = cliEnv(s);
  const bare = captureIo(withoutChain);
  t.equal(await main(['status', 'st-1'], bare), 0, bare.stderr);
  t.match(bare.stdout, /attempts\s+incoming 1\/2/, "the service's maxAttempts, not this shell's CHAIN");
  const json = captureIo(cliEnv(s));
  t.equal(await main(['status', 'st-1', '--json'], json), 0);
  const record = JSON.parse(json.stdout);
  t.equal(record.state, 'failed');
  t.equal(record.error.code, 'EchoFailed');
});

t.test('status without an id, or with two, is a usage error', async (t) => {
  const env = { SERVICE_URL: 'http://127.0.0.1:1' };
  t.equal(await main(['status'], captureIo(env)), 2);
  t.equal(await main(['status', 'a', 'b'], captureIo(env)), 2);
  t.equal(await main(['status', 'bad/id'], captureIo(env)), 2);
});

t.test('status when the service is unreachable exits 1 with the reason', async (t) => {
  const io = captureIo({ SERVICE_URL: 'http://127.0.0.1:1' });
  t.equal(await main(['status', 'x'], io), 1);
  t.match(io.stderr, /ECONNREFUSED|127\.0\.0\.1:1/);
});

t.test('cancel of a task still waiting in the queue deletes it and the worker never runs it', async (t) => {
  const s = await devStack(t);
  const later = new Date(Date.now() + 60_000).toISOString();
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'to-cancel', '--schedule-time', later], captureIo(cliEnv(s))), 0);
  const io = captureIo(cliEnv(s));
  t.equal(await main(['cancel', 'to-cancel'], io), 0, io.stderr);
  t.match(io.stdout, /cancelled to-cancel; deleted incoming\/to-cancel/);
  const again = captureIo(cliEnv(s));
  t.equal(await main(['cancel', 'to-cancel'], again), 1, 'nothing left to cancel');
  const events = await waitForEvents(s, 'to-cancel', 'executor.task.cancelled');
  t.equal(events.length, 1, 'the never-run task is notified as cancelled, once');
  t.equal(events[0]?.id, 'to-cancel/cancelled', 'with the stable event id');
});

t.test('cancel of a task between retries notifies cancelled exactly once, whoever sends it', async (t) => {
  // Fails retryably for ever on one unlimited tier: the cancel lands while it
  // waits for its next try (the route notifies) or while a try runs (that
  // delivery notifies); either way one event.
  const chain = { CHAIN: 'incoming:unlimited' };
  const s = await devStack(t, chain);
  t.equal(await main(['enqueue', '--type', 'echo', '--args', '{"fail":"retryable"}', '--name', 'between-tries'], captureIo(cliEnv(s, chain))), 0);
  const st = captureIo(cliEnv(s, chain));
  let seen = '';
  for (let i = 0; i < 400 && seen !== 'retrying'; i++) {
    st.outLines.length = 0;
    if ((await main(['status', 'between-tries', '--json'], st)) === 0) seen = JSON.parse(st.stdout).state;
    if (seen !== 'retrying') await new Promise((r) => setTimeout(r, 25));
  }
  t.equal(seen, 'retrying', 'the task failed a try and waits for the next');
  const io = captureIo(cliEnv(s, chain));
  t.equal(await main(['cancel', 'between-tries'], io), 0, io.stderr);
  const events = await waitForEvents(s, 'between-tries', 'executor.task.cancelled');
  await new Promise((r) => setTimeout(r, 500)); // a second (wrong) event would have arrived by now
  t.equal(s.sink.list({ id: 'between-tries', type: 'executor.task.cancelled' }).length, 1, 'one cancelled event');
  t.equal(events[0]?.data.state, 'cancelled');
});

async function waitForEvents(s: Awaited<ReturnType<typeof devStack>>, id: string, type: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = s.sink.list({ id, type });
    if (found.length > 0 || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('cancel of a running task marks it cancelled and enqueue --watch of it exits 1', async (t) => {
  const s = await devStack(t);
  const watcher = captureIo(cliEnv(s));
  const watching = main(['enqueue', '--type', 'echo', '--args', '{"sleepMs":20000}', '--name', 'running-1', '--watch'], watcher);
  const st = captureIo(cliEnv(s));
  for (let i = 0; i < 100; i++) {
    st.outLines.length = 0;
    if ((await main(['status', 'running-1', '--json'], st)) === 0 && JSON.parse(st.stdout).state === 'running') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const io = captureIo(cliEnv(s));
  t.equal(await main(['cancel', 'running-1'], io), 0, io.stderr);
  t.match(io.stdout, /cancelled running-1/);
  t.equal(await watching, 1, 'the watcher sees the cancellation');
  t.match(watcher.stdout, /state\s+cancelled/);
});

t.test('cancel of a task that already ended exits 1 and says how it ended', async (t) => {
  const s = await devStack(t);
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'done-1', '--watch'], captureIo(cliEnv(s))), 0);
  const io = captureIo(cliEnv(s));
  t.equal(await main(['cancel', 'done-1'], io), 1);
  t.match(io.stderr, /already succeeded/);
});

t.test('cancel of an unknown id exits 1', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s));
  t.equal(await main(['cancel', 'nobody'], io), 1);
  t.match(io.stderr, /no task lineage "nobody"/);
});
