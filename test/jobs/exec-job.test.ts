import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { JobContext } from '../../src/interfaces.ts';
import { type ExecJobOptions, type ExecOutput, execJob } from '../../src/jobs/exec-job.ts';
import { jobContext } from './context.ts';

const SCRIPTS: Record<string, string> = {
  'ok.sh': 'echo "hello $1"\necho oops >&2\nexit 0',
  'fail.sh': 'echo trying\nexit 1',
  'perm.sh': 'echo giving up >&2\nexit 42',
  'tree.sh': 'sleep 30 &\necho "pids $$ $!"\nwait',
  'big.sh': 'i=0\nwhile [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); done\necho last',
  'env.sh': 'echo "A=$A SECRET=${EXECUTOR_TEST_SECRET:-none} HOME_SET=${HOME:+yes}"',
  'sub/nested.sh': 'echo nested',
  'stubborn.sh': 'trap \'\' TERM\necho "pid $$"\nwhile :; do sleep 0.05; done',
  'daemon.sh': 'sleep 30 &\necho "child $!"\nexit 0',
  // A child that leaves the process group (setsid) and outlives its parent at once.
  'setsid.sh':
    'setsid sh -c \'echo $$ > "$1"; exec sleep 1000\' sh "$1" >/dev/null 2>&1 &\nwhile [ ! -s "$1" ]; do sleep 0.01; done\necho "escaped $(cat "$1")"\nexit 0',
  // The same, and the parent keeps running (for abort), ignoring SIGTERM like its escapee.
  'setsid-stubborn.sh':
    'trap \'\' TERM\nsetsid sh -c \'trap "" TERM; echo $$ > "$1"; while :; do sleep 0.05; done\' sh "$1" >/dev/null 2>&1 &\nwhile [ ! -s "$1" ]; do sleep 0.01; done\necho "escaped $(cat "$1")"\nwhile :; do sleep 0.05; done',
  'loaders.sh':
    'echo "NODE_OPTIONS=${NODE_OPTIONS:-unset} BASH_ENV=${BASH_ENV:-unset} ENV=${ENV:-unset} GCONV_PATH=${GCONV_PATH:-unset} PERL5OPT=${PERL5OPT:-unset} TZ=${TZ:-unset}"',
};

async function jobsDir(t: Test) {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'exec-job-')));
  const dir = join(base, 'jobs');
  await mkdir(join(dir, 'sub'), { recursive: true });
  for (const [name, body] of Object.entries(SCRIPTS)) {
    await writeFile(join(dir, name), `#!/bin/sh\n${body}\n`);
    await chmod(join(dir, name), 0o755);
  }
  await writeFile(join(base, 'outside.sh'), '#!/bin/sh\necho escaped\n', { mode: 0o755 });
  await symlink(join(base, 'outside.sh'), join(dir, 'link.sh'));
  await symlink(join(dir, 'ok.sh'), join(dir, 'inside-link.sh'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  return { base, dir };
}

async function run(opts: ExecJobOptions, args: Record<string, unknown>, ctx: Partial<JobContext> = {}) {
  const job = execJob(opts).make();
  job.create(args);
  return job.run(undefined, jobContext(ctx));
}

/**
 * ESRCH, or a zombie: an orphaned child is reparented to PID 1, which may reap
 * it late (or never), yet it is dead.
 */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

t.test('a script exiting 0 succeeds with its exit code and both streams', async (t) => {
  const { dir } = await jobsDir(t);
  const r = await run({ commands: ['sh'], jobsDir: dir }, { command: 'sh', path: 'ok.sh', args: ['world'] });
  t.equal(r.state, 'succeeded');
  t.same(r.result, { exit: 0, stdout: 'hello world\n', stderr: 'oops\n' });
  const nested = await run({ commands: ['sh'], jobsDir: dir }, { command: 'sh', path: 'sub/nested.sh' });
  t.match(nested.result, { stdout: 'nested\n' });
});

t.test('exit 1 is a retryable failure that keeps the output', async (t) => {
  const { dir } = await jobsDir(t);
  const r = await run({ commands: ['sh'], jobsDir: dir, permanentExitCodes: [42] }, { command: 'sh', path: 'fail.sh' });
  t.equal(r.state, 'failed');
  t.equal(r.exit, 1);
  t.match(r.error, { code: 'ExitCode', permanent: false });
  t.match(r.result, { exit: 1, stdout: 'trying\n' });
});

t.test('a configured permanent exit code is a permanent failure', async (t) => {
  const { dir } = await jobsDir(t);
  const r = await run({ commands: ['sh'], jobsDir: dir, permanentExitCodes: [42] }, { command: 'sh', path: 'perm.sh' });
  t.equal(r.exit, 42);
  t.match(r.error, { code: 'ExitCode', permanent: true });
  t.match(r.result, { stderr: 'giving up\n' });
});

t.test('a command that is not listed is refused permanently', async (t) => {
  const { dir } = await jobsDir(t);
  await t.rejects(run({ commands: ['sh'], jobsDir: dir }, { command: 'bash', path: 'ok.sh' }), { code: 'CommandNotAllowed', permanent: true });
  await t.rejects(run({ commands: [], jobsDir: dir }, { command: 'sh', path: 'ok.sh' }), { code: 'CommandNotAllowed' });
});

t.test('paths with "..", absolute paths and symlinks out of JOBS_DIR are refused permanently', async (t) => {
  const { dir, base } = await jobsDir(t);
  const opts = { commands: ['sh'], jobsDir: dir };
  for (const path of ['../outside.sh', 'sub/../../outside.sh', join(base, 'outside.sh'), '/bin/sh', 'link.sh']) {
    await t.rejects(run(opts, { command: 'sh', path }), { code: 'PathNotAllowed', permanent: true }, path);
  }
  await t.rejects(run({ commands: ['sh'] }, { command: 'sh', path: 'ok.sh' }), { code: 'PathNotAllowed' }, 'no JOBS_DIR, no path');
  await t.rejects(run(opts, { command: 'sh', path: 'missing.sh' }), { code: 'PathNotFound', permanent: true });
  const inside = await run(opts, { command: 'sh', path: 'inside-link.sh' });
  t.equal(inside.state, 'succeeded', 'a symlink that stays inside is fine');
});

t.test('the worker environment is not passed on; the job env is', async (t) => {
  const { dir } = await jobsDir(t);
  process.env.EXECUTOR_TEST_SECRET = 'leak';
  t.teardown(() => {
    delete process.env.EXECUTOR_TEST_SECRET;
  });
  const r = await run({ commands: ['sh'], jobsDir: dir }, { command: 'sh', path: 'env.sh', env: { A: 'b' } });
  t.match(r.result, { stdout: 'A=b SECRET=none HOME_SET=yes\n' });
  await t.rejects(run({ commands: ['sh'], jobsDir: dir }, { command: 'sh', path: 'env.sh', env: { PATH: '/tmp' } }), { code: 'WrongArgType', permanent: true });
  await t.rejects(run({ commands: ['sh'], jobsDir: dir }, { command: 'sh', path: 'env.sh', env: { LD_PRELOAD: 'x.so' } }), { code: 'WrongArgType' });
});

t.test('output is bounded per stream, keeping the tail and counting what was dropped', async (t) => {
  const { dir } = await jobsDir(t);
  const r = await run({ commands: ['sh'], jobsDir: dir, maxOutputBytes: 1000 }, { command: 'sh', path: 'big.sh' });
  const res = r.result as { stdout: string; truncated: { stdout: number; stderr: number } };
  t.equal(Buffer.byteLength(res.stdout), 1000);
  t.match(res.stdout, /last\n$/);
  t.ok(res.truncated.stdout > 10_000);
  t.equal(res.truncated.stderr, 0);
});

t.test('an abort kills the whole process group: the script and its child', async (t) => {
  const { dir } = await jobsDir(t);
  const ctl = new AbortController();
  const seen: ExecOutput[] = [];
  let pids: number[] = [];
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const onOutput = (o: ExecOutput) => {
    seen.push(o);
    const m = /pids (\d+) (\d+)/.exec(o.chunk);
    if (m) {
      pids = [Number(m[1]), Number(m[2])];
      started();
    }
  };
  const job = execJob({ commands: ['sh'], jobsDir: dir, killGraceMs: 2000, onOutput }).make();
  job.create({ command: 'sh', path: 'tree.sh' });
  const outcome = job.run(undefined, jobContext({ signal: ctl.signal }));
  outcome.catch(() => {});
  await running;
  t.equal(seen[0].id, 'lineage-1');
  t.notOk(gone(pids[0]), 'script running');
  t.notOk(gone(pids[1]), 'its child running');
  const reason = new Error('RunTimeout');
  ctl.abort(reason);
  await t.rejects(outcome, reason);
  t.ok(gone(pids[0]), 'script is gone');
  t.ok(gone(pids[1]), 'its child is gone');
});

t.test('stop() kills the process group too, and status() shows live output', async (t) => {
  const { dir } = await jobsDir(t);
  const job = execJob({ commands: ['sh'], jobsDir: dir, killGraceMs: 2000 }).make();
  job.create({ command: 'sh', path: 'tree.sh' });
  const p = job.run(undefined, jobContext());
  p.catch(() => {});
  let status = '';
  for (let i = 0; i < 200 && !/pids/.test(status); i++) {
    await new Promise((r) => setTimeout(r, 10));
    status = job.status();
  }
  t.match(status, /^running pid \d+: pids \d+ \d+/);
  const [, a, b] = /pids (\d+) (\d+)/.exec(status)!.map(Number);
  await job.stop();
  await t.rejects(p, { name: 'AbortError' });
  t.ok(gone(a) && gone(b), 'both processes are gone');
});

t.test('a script ignoring SIGTERM is SIGKILLed after killGraceMs', async (t) => {
  const { dir } = await jobsDir(t);
  const ctl = new AbortController();
  let pid = 0;
  const job = execJob({
    commands: ['sh'],
    jobsDir: dir,
    killGraceMs: 200,
    onOutput: (o) => {
      const m = /pid (\d+)/.exec(o.chunk);
      if (m) {
        pid = Number(m[1]);
        ctl.abort(new Error('stop now'));
      }
    },
  }).make();
  job.create({ command: 'sh', path: 'stubborn.sh' });
  await t.rejects(job.run(undefined, jobContext({ signal: ctl.signal })), { message: 'stop now' });
  t.ok(pid > 0 && gone(pid), 'the stubborn script is gone');
});

t.test('processes a script leaves behind are killed when it exits', async (t) => {
  const { dir } = await jobsDir(t);
  const r = await run({ commands: ['sh'], jobsDir: dir, killGraceMs: 2000 }, { command: 'sh', path: 'daemon.sh' });
  t.equal(r.state, 'succeeded');
  const child = Number(/child (\d+)/.exec(r.stdout ?? '')?.[1]);
  t.ok(child > 0);
  t.ok(gone(child), 'the background child is gone');
});

t.test('a command that cannot be started is a permanent SpawnFailed', async (t) => {
  await t.rejects(run({ commands: ['no-such-command-xyz'] }, { command: 'no-such-command-xyz' }), { code: 'SpawnFailed', permanent: true });
});

t.test('a command may run without a script path', async (t) => {
  const r = await run({ commands: ['echo'] }, { command: 'echo', args: ['a', 'b'] });
  t.same(r.result, { exit: 0, stdout: 'a b\n', stderr: '' });
});

/** Poll until `pid` is gone; generous deadline, no fixed sleep. */
async function waitGone(pid: number, ms = 20_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (gone(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return gone(pid);
}

t.test('a child that called setsid and outlived its script is killed when the script exits', async (t) => {
  const { dir, base } = await jobsDir(t);
  const r = await run({ commands: ['sh'], jobsDir: dir, killGraceMs: 2000 }, { command: 'sh', path: 'setsid.sh', args: [join(base, 'pid-a')] });
  t.equal(r.state, 'succeeded');
  const pid = Number(/escaped (\d+)/.exec(r.stdout ?? '')?.[1]);
  t.ok(pid > 0, `escaped pid ${pid}`);
  t.ok(await waitGone(pid), 'the setsid child is gone');
});

t.test('on abort, a setsid child that ignores SIGTERM is SIGKILLed with its script after killGraceMs', async (t) => {
  const { dir, base } = await jobsDir(t);
  const ctl = new AbortController();
  let pid = 0;
  const job = execJob({
    commands: ['sh'],
    jobsDir: dir,
    killGraceMs: 200,
    onOutput: (o) => {
      const m = /escaped (\d+)/.exec(o.chunk);
      if (m) {
        pid = Number(m[1]);
        ctl.abort(new Error('cancelled'));
      }
    },
  }).make();
  job.create({ command: 'sh', path: 'setsid-stubborn.sh', args: [join(base, 'pid-b')] });
  await t.rejects(job.run(undefined, jobContext({ signal: ctl.signal })), { message: 'cancelled' });
  t.ok(pid > 0, `escaped pid ${pid}`);
  t.ok(gone(pid), 'the escaped child is already gone when run() settles');
});

t.test('loader and interpreter variables never reach the child, from EXEC_ENV_PASS or the job', async (t) => {
  const { dir } = await jobsDir(t);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: 'UTC',
    NODE_OPTIONS: '--require /tmp/x.js',
    BASH_ENV: '/tmp/x',
    ENV: '/tmp/x',
    GCONV_PATH: '/tmp',
    PERL5OPT: '-Mx',
  };
  const r = await run({ commands: ['sh'], jobsDir: dir, env }, { command: 'sh', path: 'loaders.sh' });
  // tap's process tracker adds its own NODE_OPTIONS to every spawn in a test: only ours must be absent.
  t.notMatch(r.stdout ?? '', /x\.js/, 'the configured NODE_OPTIONS is not passed');
  t.match(r.stdout ?? '', / BASH_ENV=unset ENV=unset GCONV_PATH=unset PERL5OPT=unset TZ=UTC\n$/, 'the others are unset; listed TZ passes');
  for (const name of ['NODE_OPTIONS', 'BASH_ENV', 'ENV', 'GCONV_PATH', 'PERL5OPT', 'PYTHONSTARTUP', 'LD_LIBRARY_PATH', 'EXECUTOR_EXEC_RUN']) {
    await t.rejects(
      run({ commands: ['sh'], jobsDir: dir }, { command: 'sh', path: 'loaders.sh', env: { [name]: 'x' } }),
      { code: 'WrongArgType', permanent: true },
      name,
    );
  }
});
