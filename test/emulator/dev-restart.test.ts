// `executor dev` as a real process: its emulator state survives a restart (a
// task scheduled before the restart runs after it), `--fresh` starts empty;
// and the emulator's settings in loadConfig.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { freePort } from '../helpers/free-port.ts';
import { api, waitFor } from './helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/executor.js', import.meta.url));
const PARENT = 'projects/local-project/locations/us-central1';

async function startDevProcess(env: Record<string, string>, args: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'dev', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  await waitFor(() => out.includes('executor dev is running') || child.exitCode !== null, 60_000);
  if (child.exitCode !== null) throw new Error(`executor dev exited: ${out}`);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

t.test('a restart of executor dev keeps a scheduled task, which then runs; --fresh starts empty', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dev-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { PORT: String(await freePort()), EMULATOR_PORT: String(await freePort()), EMULATOR_STATE: join(dir, 'state.json') };
  const emulator = `http://127.0.0.1:${env.EMULATOR_PORT}`;
  const worker = `http://127.0.0.1:${env.PORT}`;

  const first = await startDevProcess(env);
  t.teardown(() => stop(first));
  const body = Buffer.from(JSON.stringify({ type: 'echo', data: { kept: true } })).toString('base64');
  const scheduleTime = new Date(Date.now() + 3000).toISOString();
  const made = await api(emulator, 'POST', `${PARENT}/queues/incoming/tasks`, {
    task: { name: `${PARENT}/queues/incoming/tasks/survivor`, scheduleTime, httpRequest: { url: `${worker}/tasks`, body } },
  });
  t.equal(made.status, 200, JSON.stringify(made.json));
  await stop(first);

  const second = await startDevProcess(env);
  t.teardown(() => stop(second));
  const listed = await api(emulator, 'GET', `${PARENT}/queues/incoming/tasks`);
  const names = (listed.json.tasks ?? []).map((x: { name: string }) => x.name);
  const ran = async () =>
    ((await (await fetch(`${worker}/v1/notifications?id=survivor&type=executor.task.succeeded`)).json()) as { notifications: unknown[] }).notifications.length >
    0;
  // Either still waiting for its time, or (on a slow machine) already run by the new process.
  t.ok(names.includes(`${PARENT}/queues/incoming/tasks/survivor`) || (await ran()), 'the task is back after the restart');
  let done = false;
  await waitFor(() => {
    void ran().then(
      (r) => (done = r),
      () => {},
    );
    return done;
  }, 30_000);
  t.ok(done, 'the task scheduled before the restart ran after it');
  await api(emulator, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/extra` });
  await stop(second);
  const fresh = await startDevProcess(env, ['--fresh']);
  t.teardown(() => stop(fresh));
  const queues = (await api(emulator, 'GET', `${PARENT}/queues`)).json.queues.map((q: { name: string }) => q.name.split('/').pop());
  t.notOk(queues.includes('extra'), '--fresh dropped the saved queue');
  t.ok(queues.includes('incoming'), 'dev created its own queues again');
});

t.test('emulator settings: dev pushes App Engine tasks to its worker; a bad URL names the variable', async (t) => {
  t.equal(loadConfig({ PORT: '9091' }, 'dev').emulatorAppEngineUrl, 'http://127.0.0.1:9091');
  t.equal(loadConfig({ EMULATOR_APP_ENGINE_URL: 'http://127.0.0.1:7000/' }, 'dev').emulatorAppEngineUrl, 'http://127.0.0.1:7000/');
  t.equal(loadConfig({}, 'emulator').emulatorAppEngineUrl, undefined, 'the emulator alone has no App Engine app unless told');
  t.equal(loadConfig({ EMULATOR_STATE: '/tmp/x.json' }, 'emulator').emulatorState, '/tmp/x.json');
  t.equal(loadConfig({}, 'dev').emulatorState, undefined, 'the dev default is applied by the dev command');
  t.throws(() => loadConfig({ EMULATOR_APP_ENGINE_URL: 'not a url' }, 'emulator'), new ConfigError('EMULATOR_APP_ENGINE_URL', '"not a url" is not a URL'));
});

t.test('executor dev with a state file that is not one stops with one line naming EMULATOR_STATE, and keeps the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dev-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, 'state.json');
  writeFileSync(state, 'not json');
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    PORT: String(await freePort()),
    EMULATOR_PORT: String(await freePort()),
    EMULATOR_STATE: state,
  };
  const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(process.execPath, [BIN, 'dev'], { env, timeout: 90_000 }, (err, _out, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code) : 0, stderr }),
    ),
  );
  t.equal(r.code, 2);
  const lines = r.stderr.split('\n').filter(Boolean);
  t.equal(lines.length, 1, r.stderr);
  t.match(lines[0], /^executor: configuration error: EMULATOR_STATE: cannot read .*state\.json.*--fresh/);
  t.equal(readFileSync(state, 'utf8'), 'not json', 'the file is left as it was');
});
