import t from 'tap';
import { main } from '../../src/cli/main.ts';
import { captureIo, cliEnv, devStack } from './capture-io.ts';

t.test('redrive --all with no dead letters exits 0 and says there was nothing to do', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s));
  t.equal(await main(['redrive', '--all'], io), 0, io.stderr);
  t.match(io.stdout, /nothing to redrive/);
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'clean-run', '--watch'], captureIo(cliEnv(s))), 0);
  const json = captureIo(cliEnv(s));
  t.equal(await main(['redrive', 'clean-run', '--json'], json), 0, 'a lineage with no dead letters');
  t.same(JSON.parse(json.stdout), { redriven: 0, failed: 0, permanent: 0 });
});

t.test('redrive of an id no lineage has is an error (exit 1, one line), not "nothing to redrive"', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s));
  t.equal(await main(['redrive', 'mistyped-id'], io), 1);
  t.equal(io.stdout, '');
  t.match(io.stderr, /^executor: no task lineage "mistyped-id"/);
  t.equal(io.stderr.trim().split('\n').length, 1, 'one line');
});

t.test('redrive needs exactly one of ID or --all', async (t) => {
  const env = { SERVICE_URL: 'http://127.0.0.1:1' };
  const none = captureIo(env);
  t.equal(await main(['redrive'], none), 2);
  t.match(none.stderr, /--all/);
  t.equal(await main(['redrive', 'x', '--all'], captureIo(env)), 2);
});

t.test('tail --once prints each notification once, and --json prints CloudEvents', async (t) => {
  const s = await devStack(t);
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'tailed', '--watch'], captureIo(cliEnv(s))), 0);
  // The notifier queue pushes the event to the sink shortly after the task ends.
  for (let i = 0; i < 100 && s.sink.list({ id: 'tailed' }).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  const io = captureIo(cliEnv(s));
  t.equal(await main(['tail', '--once'], io), 0, io.stderr);
  t.equal(io.outLines.length, 1);
  t.match(io.outLines[0], /succeeded\s+tailed incoming#0 attempt 1\/2/);
  const json = captureIo(cliEnv(s));
  t.equal(await main(['tail', '--once', '--json', '--id', 'tailed'], json), 0);
  const event = JSON.parse(json.outLines[0]!);
  t.equal(event.specversion, '1.0');
  t.equal(event.id, 'tailed/succeeded');
  t.equal(event.type, 'executor.task.succeeded');
});

t.test('tail follows new notifications until interrupted', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s));
  const tailing = main(['tail', '--interval', '50'], io);
  await new Promise((r) => setTimeout(r, 150));
  t.equal(io.outLines.length, 0, 'nothing yet');
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'followed', '--watch'], captureIo(cliEnv(s))), 0);
  for (let i = 0; i < 100 && io.outLines.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  process.emit('SIGINT');
  t.equal(await tailing, 0);
  t.equal(io.outLines.length, 1);
  t.match(io.outLines[0], /followed/);
});
