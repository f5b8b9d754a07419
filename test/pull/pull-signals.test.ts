// `executor pull` as a real process: SIGKILL mid-job then a restart, SIGTERM drain, and a job crashing outside its promise.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PubSub } from '@google-cloud/pubsub';
import t from 'tap';
import { freePort } from '../helpers/free-port.ts';
import { startGcloudEmulator } from '../helpers/gcloud-emulator.ts';
import { chainEnv, collectNotifications, createChain, names, PROJECT, pullEnv, until } from './pull-stack.ts';

const BIN = fileURLToPath(new URL('../../bin/executor.js', import.meta.url));
const CRASH_JOBS = fileURLToPath(new URL('../fixtures/crash-jobs.mjs', import.meta.url));
// Starts the Java emulator and (here) real processes, and waits for Pub/Sub
// redeliveries: on a busy 2-core machine that outlasts tap's default per file.
t.setTimeout(360_000);
const emulator = await startGcloudEmulator('pubsub', { project: PROJECT });
t.teardown(() => emulator.stop());
process.env.PUBSUB_EMULATOR_HOST = emulator.host;
const pubsub = new PubSub({ projectId: PROJECT });
t.teardown(() => pubsub.close());

interface Child {
  proc: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  output: () => string;
}

async function startChild(env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  const proc = spawn(process.execPath, [BIN, 'pull'], {
    env: { PATH: process.env.PATH ?? '', PUBSUB_EMULATOR_HOST: emulator.host, ...env, PORT: String(port), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await until(`executor pull on ${url}\n${out}`, async () => {
    try {
      return (await fetch(`${url}/healthz`)).ok;
    } catch {
      return false;
    }
  });
  return { proc, url, exited, output: () => out };
}

async function stateOf(url: string, id: string): Promise<string | undefined> {
  const res = await fetch(`${url}/v1/tasks/${id}`).catch(() => undefined);
  if (!res?.ok) return undefined;
  return ((await res.json()) as { state: string }).state;
}

t.test('SIGKILL mid-job, then a restart: the message is delivered again and the lineage completes', async (t) => {
  const n = names(1);
  await createChain(pubsub, n);
  const notes = collectNotifications(pubsub, n);
  t.teardown(() => notes.close());
  const env = pullEnv(n, chainEnv(n, [5]));
  const first = await startChild(env);
  t.teardown(() => first.proc.kill('SIGKILL'));
  await pubsub.topic(n.topics[0]!).publishMessage({ json: { id: 'killed-1', type: 'echo', args: { sleepMs: 4000 } } });
  await until('the job running in the first process', async () => (await stateOf(first.url, 'killed-1')) === 'running');
  first.proc.kill('SIGKILL');
  t.equal(await first.exited, null, 'killed');
  t.notOk(
    notes.events.find((e) => e.subject === 'killed-1'),
    'the first process never finished it',
  );
  const second = await startChild(env);
  t.teardown(async () => {
    second.proc.kill('SIGTERM');
    await second.exited;
  });
  await until('the lineage succeeded in the restarted process', async () => (await stateOf(second.url, 'killed-1')) === 'succeeded', 120_000);
  const ok = await until('the succeeded notification', () => notes.events.find((e) => e.subject === 'killed-1' && e.type === 'executor.task.succeeded'));
  t.equal(ok.data.state, 'succeeded');
});

t.test('SIGTERM drains: the running job finishes, its notification goes out, the process exits 0', async (t) => {
  const n = names(1);
  await createChain(pubsub, n);
  const notes = collectNotifications(pubsub, n);
  t.teardown(() => notes.close());
  const child = await startChild(pullEnv(n, chainEnv(n, [5]), { SHUTDOWN_GRACE: '60s' }));
  t.teardown(() => child.proc.kill('SIGKILL'));
  await pubsub.topic(n.topics[0]!).publishMessage({ json: { id: 'drained-1', type: 'echo', args: { sleepMs: 2000 } } });
  await until('the job running', async () => (await stateOf(child.url, 'drained-1')) === 'running');
  child.proc.kill('SIGTERM');
  t.equal(await child.exited, 0, child.output().slice(-2000));
  await until('the succeeded notification', () => notes.events.find((e) => e.subject === 'drained-1' && e.type === 'executor.task.succeeded'));
  t.match(child.output(), /"acked":1/, 'the message was acked before the exit');
});

t.test('a job that throws outside its promise fails only its delivery; the process keeps pulling', async (t) => {
  const n = names(1);
  await createChain(pubsub, n);
  const notes = collectNotifications(pubsub, n);
  t.teardown(() => notes.close());
  const child = await startChild(pullEnv(n, chainEnv(n, [2]), { JOBS_MODULE: CRASH_JOBS }));
  t.teardown(() => child.proc.kill('SIGKILL'));
  await pubsub.topic(n.topics[0]!).publishMessage({ json: { id: 'crash-1', type: 'timer-throw' } });
  const failed = await until('the crashing lineage failed after its 2 attempts', () =>
    notes.events.find((e) => e.subject === 'crash-1' && e.type === 'executor.task.failed'),
  );
  t.match(failed.data.error, { code: 'JobCrashed', permanent: false }, 'recorded as JobCrashed');
  t.equal(child.proc.exitCode, null, 'the process is still running');
  await pubsub.topic(n.topics[0]!).publishMessage({ json: { id: 'after-crash', type: 'slow', args: { ms: 1 } } });
  await until('a later message succeeds on the same process', () =>
    notes.events.find((e) => e.subject === 'after-crash' && e.type === 'executor.task.succeeded'),
  );
  t.equal(child.proc.exitCode, null, 'still the same process');
});

t.test('no Google credentials: the process stays up, /readyz 503 names what is missing, one log line however often it retries', async (t) => {
  const n = names(1);
  const home = mkdtempSync(join(tmpdir(), 'pull-no-creds-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const child = await startChild(
    pullEnv(n, chainEnv(n, [3]), {
      // Not the emulator, no Application Default Credentials, no metadata server: "not on GCP".
      PUBSUB_EMULATOR_HOST: '',
      HOME: home,
      GCE_METADATA_HOST: `127.0.0.1:${await freePort()}`,
      GCE_METADATA_IP: `127.0.0.1:${await freePort()}`,
      LOG_LEVEL: 'info',
    }),
  );
  t.teardown(() => child.proc.kill('SIGKILL'));
  const body = await until('/readyz 503', async () => {
    const res = await fetch(`${child.url}/readyz`);
    return res.status === 503 ? ((await res.json()) as { error: string }) : undefined;
  });
  t.match(body.error, /no Google credentials .*PUBSUB_EMULATOR_HOST/, 'names what is missing');
  await new Promise((r) => setTimeout(r, 4000)); // the check is retried at 1 s, 2 s, ...
  t.equal(child.proc.exitCode, null, 'the process is still running');
  t.equal((await fetch(`${child.url}/healthz`)).status, 200);
  const lines = child
    .output()
    .split('\n')
    .filter((l) => l.includes('no Google credentials'));
  t.equal(lines.length, 1, 'one log line, not one per retry');
});
