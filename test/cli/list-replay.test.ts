import t from 'tap';
import { listCommand } from '../../src/cli/list.ts';
import { logsCommand } from '../../src/cli/logs.ts';
import { main } from '../../src/cli/main.ts';
import { until } from '../helpers/until.ts';
import { captureIo, cliEnv, devStack } from './capture-io.ts';

t.test('list prints a table newest first, filters, --json; replay starts a finished run again', async (t) => {
  const s = await devStack(t);
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'li-ok', '--data', '{"x":1}', '--watch'], captureIo(cliEnv(s))), 0);
  t.equal(await main(['enqueue', '--type', 'echo', '--args', '{"fail":"permanent"}', '--name', 'li-bad', '--watch'], captureIo(cliEnv(s))), 1);

  const io = captureIo(cliEnv(s));
  t.equal(await main(['list'], io), 0, io.stderr);
  t.match(io.outLines[0], /^CREATED\s+ID\s+TYPE\s+STATE\s+QUEUE\s+ATT/);
  t.match(io.outLines[1], /li-bad\s+echo\s+failed\s+incoming#0\s+1\s+EchoFailed/);
  t.match(io.outLines[2], /li-ok\s+echo\s+succeeded/);

  const failed = captureIo(cliEnv(s));
  t.equal(await main(['list', '--state', 'failed', '--json'], failed), 0);
  t.same(
    JSON.parse(failed.stdout).tasks.map((x: { id: string }) => x.id),
    ['li-bad'],
  );

  const none = captureIo(cliEnv(s));
  t.equal(await main(['list', '--type', 'nothing-like-it'], none), 0);
  t.equal(none.stdout, 'no runs match');

  t.equal(await main(['list', '--state', 'sleeping'], captureIo(cliEnv(s))), 2, 'an unknown state is a usage error');
  t.equal(await main(['list', '--since', 'yesterday'], captureIo(cliEnv(s))), 2, 'a bad time is a usage error');

  const rp = captureIo(cliEnv(s));
  t.equal(await main(['replay', 'li-ok'], rp), 0, rp.stderr);
  t.match(rp.stdout, /^replayed li-ok as li-ok-replay-[0-9a-f]+ \(queue incoming\)/);
  const unknown = captureIo(cliEnv(s));
  t.equal(await main(['replay', 'never-was'], unknown), 1);
  t.match(unknown.stderr, /^executor: no task lineage "never-was" \(/);
});

// README "CLI": a failure is one line, `executor: <what went wrong> (<what to do>)`.
t.test('every command that takes an id fails on an unknown one with one line in the documented shape', async (t) => {
  const s = await devStack(t);
  // A task cancelled while queued never ran: replay has no payload to use.
  t.equal(
    await main(['enqueue', '--type', 'echo', '--name', 'q-1', '--schedule-time', new Date(Date.now() + 3_600_000).toISOString()], captureIo(cliEnv(s))),
    0,
  );
  t.equal(await main(['cancel', 'q-1'], captureIo(cliEnv(s))), 0);
  const cases: Array<[string[], RegExp]> = [
    [['status', 'nobody'], /no task lineage "nobody"/],
    [['cancel', 'nobody'], /no task lineage "nobody"/],
    [['logs', 'nobody'], /no task lineage "nobody"/],
    [['logs', 'nobody', '--follow'], /no task lineage "nobody"/],
    [['replay', 'nobody'], /no task lineage "nobody"/],
    [['job', 'nobody'], /no job "nobody"/],
    [['replay', 'q-1'], /"q-1" kept no payload to replay.*executor enqueue/],
  ];
  const jobJson = captureIo(cliEnv(s));
  t.equal(await main(['job', 'nobody', '--json'], jobJson), 1);
  t.same(JSON.parse(jobJson.stdout), { id: 'nobody', error: { code: 'NotFound', message: 'no job "nobody"' } }, 'job --json answers JSON like status --json');
  for (const [argv, what] of cases) {
    const io = captureIo(cliEnv(s));
    t.equal(await main(argv, io), 1, `${argv.join(' ')}: exit 1`);
    t.equal(io.errLines.length, 1, `${argv.join(' ')}: one line, got ${io.stderr}`);
    t.match(io.errLines[0], /^executor: .+ \(.+\)$/, `${argv.join(' ')}: the documented shape`);
    t.match(io.errLines[0], what, argv.join(' '));
  }
});

t.test('list --watch prints the runs there, then each new run as it appears', async (t) => {
  const s = await devStack(t);
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'w-1', '--watch'], captureIo(cliEnv(s))), 0);
  const io = captureIo(cliEnv(s));
  const stop = new AbortController();
  const done = listCommand(['--watch', '--interval', '100'], io, stop.signal);
  await until('the first run', () => (io.outLines.some((l) => l.includes('w-1')) ? true : undefined));
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'w-2', '--watch'], captureIo(cliEnv(s))), 0);
  await until('the new run', () => (io.outLines.some((l) => /w-2\s+echo\s+succeeded/.test(l)) ? true : undefined));
  stop.abort();
  t.equal(await done, 0, 'stops cleanly');
  t.equal(io.outLines.filter((l) => /w-1\s/.test(l)).length, 1, 'an unchanged run is printed once');
});

t.test('logs prints a run’s output; --follow streams it until the run ends', async (t) => {
  const s = await devStack(t, { EXEC_COMMANDS: 'sh' });
  const args = JSON.stringify({ command: 'sh', args: ['-c', 'for i in 1 2 3 4 5; do echo "tick $i"; sleep 0.3; done'] });
  t.equal(await main(['enqueue', '--type', 'exec', '--args', args, '--name', 'lg-1'], captureIo(cliEnv(s))), 0);
  const started = Date.now() + 30_000;
  while (!(await fetch(`${s.server.url}/v1/tasks/lg-1`)).ok && Date.now() < started) await new Promise((r) => setTimeout(r, 50));
  const io = captureIo(cliEnv(s));
  const code = await logsCommand(['lg-1', '--follow'], io);
  t.equal(code, 0, io.stderr);
  t.same(io.outLines, ['--- incoming attempt 1 (tier 0) ---', 'tick 1', 'tick 2', 'tick 3', 'tick 4', 'tick 5']);
  t.match(io.stderr, /\[lg-1 succeeded\]/);
  const plain = captureIo(cliEnv(s));
  t.equal(await main(['logs', 'lg-1'], plain), 0);
  t.equal(plain.stdout, '--- incoming attempt 1 (tier 0) ---\ntick 1\ntick 2\ntick 3\ntick 4\ntick 5');
  const unknown = captureIo(cliEnv(s));
  t.equal(await main(['logs', 'nobody'], unknown), 1);
  t.match(unknown.stderr, /^executor: no task lineage "nobody"/);
});
