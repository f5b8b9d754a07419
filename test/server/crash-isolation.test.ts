// The process stays up: real `executor serve` and `executor dev` processes
// with a JOBS_MODULE whose jobs throw outside their promise, and Google
// backends without credentials. (`executor pull`: test/pull/pull-signals.test.ts.) Each misbehaviour fails only its own delivery (retryable,
// recorded), other jobs finish, and the process keeps answering.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { freePort } from '../helpers/free-port.ts';

const BIN = fileURLToPath(new URL('../../bin/executor.js', import.meta.url));
const JOBS = fileURLToPath(new URL('../fixtures/crash-jobs.mjs', import.meta.url));

async function serve(t: { teardown(fn: () => unknown): void }, extra: Record<string, string>, command: 'serve' | 'dev' = 'serve') {
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), 'no-creds-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    // No Application Default Credentials and no metadata server: "not on GCP".
    HOME: home,
    GCE_METADATA_HOST: `127.0.0.1:${await freePort()}`,
    GCE_METADATA_IP: `127.0.0.1:${await freePort()}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    GOOGLE_CLOUD_PROJECT: 'test-project',
    LOCATION: 'us-central1',
    AUTH: 'none',
    ALLOW_UNAUTHENTICATED: '1',
    NOTIFY_QUEUE: '',
    CHAIN: 'incoming:3',
    JOBS_MODULE: JOBS,
    SHUTDOWN_GRACE: '2s',
    ...(command === 'dev' ? { EMULATOR_PORT: String(await freePort()) } : {}),
    ...extra,
  };
  // dev keeps its emulator state under the working directory: a fresh one per test.
  const child: ChildProcess = spawn(process.execPath, [BIN, command, ...(command === 'dev' ? ['--fresh'] : [])], {
    env,
    cwd: home,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout!.on('data', (b) => (logs += b));
  child.stderr!.on('data', (b) => (logs += b));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    if (child.exitCode !== null || i > 600) throw new Error(`server did not start: ${logs}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const push = (name: string, body: unknown) =>
    fetch(`${url}/tasks`, {
      method: 'POST',
      headers: { 'x-cloudtasks-taskname': name, 'x-cloudtasks-queuename': 'incoming' },
      body: JSON.stringify(body),
    });
  return { url, child, push, logs: () => logs };
}

for (const command of ['serve', 'dev'] as const) {
  t.test(
    `executor ${command}: a job that throws outside its promise fails only its delivery (JobCrashed, retryable); the process and other jobs carry on`,
    async (t) => {
      const s = await serve(t, {}, command);
      const slow = s.push('slow-1', { type: 'slow', args: { ms: 1500 } });
      for (const [name, type] of [
        ['crash-throw', 'timer-throw'],
        ['crash-reject', 'timer-reject'],
        ['crash-emitter', 'emitter-error'],
      ] as const) {
        const res = await s.push(name, { type });
        t.equal(res.status, 503, `${type}: 503 so Cloud Tasks retries`);
        const body = await res.json();
        t.equal(body.outcome, 'retry', `${type}: retry`);
        t.match(body.error, { code: 'JobCrashed', permanent: false }, `${type}: JobCrashed`);
        const rec = await (await fetch(`${s.url}/v1/tasks/${name}`)).json();
        t.match(rec, { state: 'retrying', error: { code: 'JobCrashed' } }, `${type}: recorded`);
      }
      const done = await slow;
      t.equal(done.status, 200, 'the job running beside them finished');
      t.equal((await done.json()).outcome, 'succeeded');
      t.equal(s.child.exitCode, null, 'the process is still running');
      t.equal((await fetch(`${s.url}/healthz`)).status, 200);
      t.match(s.logs(), /a job crashed outside its promise/);
    },
  );
}

t.test('Pub/Sub without credentials: the notification is owed (500, kept), one log line names what is missing, the process stays up', async (t) => {
  const s = await serve(t, { NOTIFY_ON: 'all' });
  const res = await s.push('topic-1', { type: 'slow', args: { ms: 1 }, notify: { topic: 'projects/test-project/topics/nowhere' } });
  t.equal(res.status, 500, 'transient: Cloud Tasks retries and the owed notification is replayed');
  t.equal((await res.json()).outcome, 'owed');
  const rec = await (await fetch(`${s.url}/v1/tasks/topic-1`)).json();
  t.equal(rec.state, 'succeeded', 'the outcome is recorded');
  t.match(rec.deadLetters, [{ kind: 'notify', error: { code: 'NotifyFailed' } }]);
  const again = await s.push('topic-1', { type: 'slow', args: { ms: 1 }, notify: { topic: 'projects/test-project/topics/nowhere' } });
  t.equal(again.status, 500, 'the duplicate replays it and still cannot send');
  await new Promise((r) => setTimeout(r, 2000)); // the client's stray rejections would surface by now
  t.equal(s.child.exitCode, null, 'the process is still running');
  t.equal((await fetch(`${s.url}/healthz`)).status, 200);
  const lines = s
    .logs()
    .split('\n')
    .filter((l) => l.includes('no Google credentials'));
  t.ok(
    lines.some((l) => /PUBSUB_EMULATOR_HOST/.test(l) && /"severity":"ERROR"|"level":50/.test(l)),
    'a log line names what is missing',
  );
  t.equal(lines.filter((l) => /"backend":"pubsub notifier"/.test(l)).length, 1, 'said once, not per delivery');
});

t.test('LEDGER=firestore without credentials: /readyz answers 503 naming what is missing; the process stays up', async (t) => {
  const s = await serve(t, { LEDGER: 'firestore' });
  const res = await fetch(`${s.url}/readyz`);
  t.equal(res.status, 503);
  t.match((await res.json()).error, /no Google credentials.*FIRESTORE_EMULATOR_HOST/);
  const second = await fetch(`${s.url}/readyz`);
  t.equal(second.status, 503);
  await new Promise((r) => setTimeout(r, 2000));
  t.equal(s.child.exitCode, null, 'the process is still running');
  t.equal(
    s
      .logs()
      .split('\n')
      .filter((l) => /"backend":"firestore ledger"/.test(l)).length,
    1,
    'one log line',
  );
});
