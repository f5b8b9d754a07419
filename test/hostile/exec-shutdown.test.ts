// A real worker process (createDeps + startServer, as `executor serve` runs
// it) gets SIGTERM while an exec job ignores SIGTERM and has a setsid child
// that does too: once the worker has exited, neither process is left.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { until } from '../helpers/until.ts';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

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

t.test('SIGTERM to the worker leaves no exec process behind, setsid escapees ignoring SIGTERM included', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'exec-shutdown-'));
  const pids: number[] = [];
  t.teardown(async () => {
    for (const pid of pids) if (!gone(pid)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  const pidFile = join(dir, 'pids');
  await writeFile(
    join(dir, 'stubborn-tree.sh'),
    `#!/bin/sh\ntrap '' TERM\nsetsid sh -c 'trap "" TERM; echo $$ >> "$1"; while :; do sleep 0.05; done' sh "$1" >/dev/null 2>&1 &\necho $$ >> "$1"\nwhile :; do sleep 0.05; done\n`,
  );
  await chmod(join(dir, 'stubborn-tree.sh'), 0o755);
  const script = join(dir, 'worker.ts');
  await writeFile(
    script,
    `import pino from ${JSON.stringify(import.meta.resolve('pino'))};\n` +
      `import { loadConfig } from ${JSON.stringify(join(src, 'config.ts'))};\n` +
      `import { createDeps, startServer } from ${JSON.stringify(join(src, 'server.ts'))};\n` +
      `const config = loadConfig(process.env, 'dev');\n` +
      `const deps = await createDeps(config, pino({ level: 'silent' }));\n` +
      `const server = await startServer(config, deps, { handleSignals: true, port: 0, host: '127.0.0.1' });\n` +
      `console.log('READY ' + server.url);\n`,
  );
  const worker = spawn(process.execPath, [script], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      SHUTDOWN_GRACE: '2s',
      EXEC_COMMANDS: 'sh',
      JOBS_DIR: dir,
      CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:9',
      NOTIFY_QUEUE: '',
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
  let out = '';
  worker.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const url = await until('the worker to listen', () => /READY (\S+)/.exec(out)?.[1]);

  const reply = fetch(`${url}/tasks`, {
    method: 'POST',
    body: JSON.stringify({ id: 'stubborn', type: 'exec', args: { command: 'sh', path: 'stubborn-tree.sh', args: [pidFile] } }),
  }).then(
    (r) => r.status,
    () => 0,
  );
  const both = await until('the script and its setsid child', async () => {
    const text = await readFile(pidFile, 'utf8').catch(() => '');
    const list = text.split('\n').filter(Boolean).map(Number);
    return list.length >= 2 ? list : undefined;
  });
  pids.push(...both);
  t.ok(
    both.every((pid) => !gone(pid)),
    'both run before the SIGTERM',
  );

  worker.kill('SIGTERM');
  t.equal(await exited, 0, 'the worker exits cleanly');
  t.equal(await reply, 503, 'the running delivery answered 503 (Cloud Tasks retries it)');
  await until('the exec processes to be gone', () => (both.every(gone) ? true : undefined), 10_000).catch(() => undefined);
  for (const pid of both) t.ok(gone(pid), `pid ${pid} is gone`);
});
