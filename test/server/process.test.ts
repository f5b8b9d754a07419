// The real process: `executor serve` from env, SIGTERM while a job runs, and a
// bad configuration value stopping start-up with one line.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { freePort } from '../helpers/free-port.ts';

const BIN = fileURLToPath(new URL('../../bin/executor.js', import.meta.url));

function serveEnv(port: number, extra: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    PORT: String(port),
    HOST: '127.0.0.1',
    GOOGLE_CLOUD_PROJECT: 'test-project',
    LOCATION: 'us-central1',
    AUTH: 'none',
    ALLOW_UNAUTHENTICATED: '1',
    NOTIFY_QUEUE: '',
    CHAIN: 'incoming:3',
    SHUTDOWN_GRACE: '5s',
    ...extra,
  };
}

async function waitReady(url: string) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not start');
}

t.test('SIGTERM aborts a running job, which answers 503, and the process exits 0', async (t) => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [BIN, 'serve'], { env: serveEnv(port), stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  child.stdout.on('data', (b) => (logs += b));
  child.stderr.on('data', (b) => (logs += b));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitReady(url);

  const push = fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'x-cloudtasks-taskname': 'long-1', 'x-cloudtasks-queuename': 'incoming' },
    body: JSON.stringify({ type: 'echo', args: { sleepMs: 60000 } }),
  });
  // Wait until the job is running, then stop the process.
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${url}/v1/tasks/long-1`);
    if (r.ok && (await r.json()).state === 'running') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGTERM');
  const res = await push;
  t.equal(res.status, 503, 'the aborted job answers 503 so Cloud Tasks retries');
  t.equal((await res.json()).outcome, 'aborted');
  t.equal(await exited, 0);
  t.match(logs, /shutting down/);
  t.notMatch(logs, /sleepMs/, 'job args are not logged');
});

t.test('a bad configuration value stops start-up with one line naming the variable (exit 2)', async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve'], { env: serveEnv(port, { CHAIN: 'incoming:zero' }), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b) => (err += b));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  t.equal(code, 2);
  const lines = err.trim().split('\n');
  t.equal(lines.length, 1);
  t.match(lines[0], /^executor: configuration error: CHAIN: /);
});
