import t from 'tap';
import { main } from '../../src/cli/main.ts';
import { Executor } from '../../src/client/index.ts';
import { captureIo, cliEnv, devStack } from './capture-io.ts';

t.test('executor job ID prints a table of the job tasks and exits 1 when one failed', async (t) => {
  const s = await devStack(t);
  const exe = new Executor({
    project: s.config.project,
    location: s.config.location,
    serviceUrl: s.server.url,
    emulatorHost: `127.0.0.1:${s.emulator.port}`,
    business: 'acme',
  });
  t.teardown(() => exe.close());
  const result = await exe.execute({
    id: 'cli-job',
    tasks: [
      { type: 'echo', name: 'fine' },
      { type: 'echo', name: 'broken', args: { fail: 'permanent' } },
      { type: 'echo', name: 'also-fine' },
    ],
  });
  await result.watch({ intervalMs: 50, timeoutMs: 30_000 }).catch(() => {});
  const io = captureIo(cliEnv(s));
  t.equal(await main(['job', 'cli-job'], io), 1, io.stderr);
  t.match(io.stdout, /job\s+cli-job/);
  t.match(io.stdout, /tasks\s+3 \(failed 1, succeeded 2\)/);
  t.match(io.stdout, /labels\s+business=acme/);
  t.match(io.stdout, /#\s+ID\s+NAME\s+TYPE\s+STATE\s+ATTEMPTS\s+ERROR/);
  t.match(io.stdout, /1\s+cli-job-1\s+broken\s+echo\s+failed\s+1\s+EchoFailed: echo asked to fail permanently/);
  t.match(io.stdout, /0\s+cli-job-0\s+fine\s+echo\s+succeeded\s+1/);
  const json = captureIo(cliEnv(s));
  await main(['job', 'cli-job', '--json'], json);
  t.same(JSON.parse(json.stdout).tasksInError, ['cli-job-1']);
});

t.test('executor job of an unknown job exits 1; --size lists the pending tasks', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s));
  t.equal(await main(['job', 'nobody'], io), 1);
  t.match(io.stderr, /no job "nobody"/);
  t.notMatch(io.stderr, /\n/, 'one line');
  const sized = captureIo(cliEnv(s));
  t.equal(await main(['job', 'nobody', '--size', '2'], sized), 0);
  t.match(sized.stdout, /tasks\s+2 \(pending 2\)/);
  t.equal(await main(['job', 'x', '--size', 'many'], captureIo(cliEnv(s))), 2);
  t.equal(await main(['job'], captureIo(cliEnv(s))), 2);
});
