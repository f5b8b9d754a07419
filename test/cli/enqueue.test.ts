import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { main } from '../../src/cli/main.ts';
import { captureIo, cliEnv, devStack } from './capture-io.ts';

t.test('enqueue echo --watch exits 0 and the record says succeeded', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s));
  const code = await main(['enqueue', '--type', 'echo', '--data', '{"hello":"world"}', '--name', 'cli-ok', '--watch', '--json'], io);
  t.equal(code, 0, io.stderr);
  const record = JSON.parse(io.outLines.at(-1)!);
  t.equal(record.id, 'cli-ok');
  t.equal(record.state, 'succeeded');
  t.same(record.result?.data, { hello: 'world' }, 'the job received the data');
});

t.test('enqueue prints only the id on stdout without --watch, and the task runs', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s));
  const code = await main(['enqueue', '--type', 'echo', '--args', '{}'], io);
  t.equal(code, 0, io.stderr);
  t.equal(io.outLines.length, 1);
  const id = io.outLines[0]!;
  t.match(id, /^[A-Za-z0-9_-]+$/);
  const st = captureIo(cliEnv(s));
  for (let i = 0; i < 100; i++) {
    st.outLines.length = 0;
    if ((await main(['status', id, '--json'], st)) === 0 && JSON.parse(st.outLines[0]!).state === 'succeeded') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(JSON.parse(st.outLines[0]!).state, 'succeeded');
});

t.test('enqueue of a permanently failing job with --watch exits 1 and shows the error', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s));
  const code = await main(['enqueue', '--type', 'echo', '--args', '{"fail":"permanent"}', '--name', 'cli-fails', '--watch'], io);
  t.equal(code, 1);
  t.equal(io.outLines[0], 'cli-fails', 'the id comes first');
  t.match(io.stdout, /state\s+failed/);
  t.match(io.stdout, /EchoFailed/);
});

t.test('enqueue --data @file and --data - read JSON from a file and from stdin', async (t) => {
  const s = await devStack(t);
  const dir = await mkdtemp(join(tmpdir(), 'executor-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'payload.json');
  await writeFile(file, '{"from":"file"}');
  const a = captureIo(cliEnv(s));
  t.equal(await main(['enqueue', '--type', 'echo', '--data', `@${file}`, '--watch', '--json'], a), 0, a.stderr);
  t.same(JSON.parse(a.outLines.at(-1)!).result.data, { from: 'file' });
  const b = Object.assign(captureIo(cliEnv(s)), { stdin: Readable.from([Buffer.from('[1,2,3]')]) });
  t.equal(await main(['enqueue', '--type', 'echo', '--data', '-', '--watch', '--json'], b), 0, b.stderr);
  t.same(JSON.parse(b.outLines.at(-1)!).result.data, [1, 2, 3]);
});

t.test('enqueue usage errors exit 2 without creating anything', async (t) => {
  const env = { CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:1', SERVICE_URL: 'http://127.0.0.1:1' };
  const cases: Array<[string, string[], RegExp]> = [
    ['bad --args JSON', ['enqueue', '--type', 'echo', '--args', '{nope'], /--args is not valid JSON/],
    ['--args not an object', ['enqueue', '--type', 'echo', '--args', '[1]'], /--args must be a JSON object/],
    ['missing --type', ['enqueue', '--data', '{}'], /--type is required/],
    ['bad --data JSON', ['enqueue', '--type', 'echo', '--data', 'hello'], /--data is not valid JSON/],
    ['missing @file', ['enqueue', '--type', 'echo', '--data', '@/nonexistent/x.json'], /ENOENT/],
    ['bad --schedule-time', ['enqueue', '--type', 'echo', '--schedule-time', 'tomorrow'], /not an RFC 3339 time/],
    ['bad --name', ['enqueue', '--type', 'echo', '--name', 'has space'], /not a valid task name/],
    ['unknown option', ['enqueue', '--type', 'echo', '--bogus'], /bogus/],
    ['a built-in job with a wrong arg', ['enqueue', '--type', 'echo', '--args', '{"sleepMs":"x"}'], /WrongArgType/],
  ];
  for (const [what, argv, message] of cases) {
    const io = captureIo(env);
    t.equal(await main(argv, io), 2, what);
    t.match(io.stderr, message, what);
  }
});

t.test('enqueue without SERVICE_URL is a configuration error (exit 2) naming the variable', async (t) => {
  const io = captureIo({ CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:1' });
  t.equal(await main(['enqueue', '--type', 'echo'], io), 2);
  t.match(io.stderr, /SERVICE_URL/);
});

t.test('enqueue to a queue that does not exist exits 2 and names the queue', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s));
  t.equal(await main(['enqueue', '--type', 'echo', '--queue', 'no-such-queue'], io), 2);
  t.match(io.stderr, /no-such-queue/);
});

t.test('enqueue with --schedule-time in the future creates the task but it does not run yet', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s));
  const later = new Date(Date.now() + 3600_000).toISOString();
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'later', '--schedule-time', later], io), 0, io.stderr);
  await new Promise((r) => setTimeout(r, 300));
  const st = captureIo(cliEnv(s));
  t.equal(await main(['status', 'later'], st), 0, 'found in its queue');
  t.match(st.stdout, /state\s+scheduled/, 'the worker has not run it: scheduled');
  t.match(st.stdout, /attempts\s+0/);
  const c = captureIo(cliEnv(s));
  t.equal(await main(['cancel', 'later'], c), 0, 'a queued task can be cancelled');
  t.match(c.stdout, /cancelled later/);
});

t.test('enqueue with a --name in use creates nothing, says so on stderr and exits 0 (help: "a name in use creates nothing")', async (t) => {
  const s = await devStack(t);
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'twice', '--watch'], captureIo(cliEnv(s))), 0);
  const again = captureIo(cliEnv(s));
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'twice', '--json'], again), 0, again.stderr);
  t.equal(JSON.parse(again.stdout).alreadyExisted, true);
  t.match(again.stderr, /^executor: task "twice" already exists .*\(use another --name\)$/);
  const record = await (await fetch(`${s.server.url}/v1/tasks/twice`)).json();
  t.equal(record.attempts['0'], 1, 'it ran once');
});
