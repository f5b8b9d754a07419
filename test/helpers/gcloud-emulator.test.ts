import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { groupAlive, startGcloudEmulator } from './gcloud-emulator.ts';

const helper = fileURLToPath(new URL('./gcloud-emulator.ts', import.meta.url));

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

async function answers(url: string, init?: RequestInit): Promise<number | string> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.status;
  } catch (err) {
    return (err as Error).message;
  }
}

t.test('the Pub/Sub emulator starts on a free port, serves its API, and stop() leaves no process', async (t) => {
  const emu = await startGcloudEmulator('pubsub', { project: 'p' });
  t.teardown(() => emu.stop());
  t.match(emu.host, /^127\.0\.0\.1:\d+$/);
  t.equal(
    await answers(`http://${emu.host}/v1/projects/p/topics/topic-one`, { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } }),
    200,
    'creates a topic',
  );
  t.ok(groupAlive(emu.pgid), 'process group alive while running');
  await emu.stop();
  t.notOk(groupAlive(emu.pgid), 'no process of the group is left (java included)');
  t.type(await answers(`http://${emu.host}/`), 'string', 'port no longer answers');
});

t.test('the Firestore emulator starts on a free port, serves its API, and stop() leaves no process', async (t) => {
  const emu = await startGcloudEmulator('firestore', { project: 'p' });
  t.teardown(() => emu.stop());
  const doc = `http://${emu.host}/v1/projects/p/databases/(default)/documents/c/d1`;
  t.equal(
    await answers(doc, { method: 'PATCH', body: JSON.stringify({ fields: { a: { stringValue: 'x' } } }), headers: { 'content-type': 'application/json' } }),
    200,
    'writes a document',
  );
  t.equal(await answers(doc), 200, 'reads it back');
  await emu.stop();
  t.notOk(groupAlive(emu.pgid), 'no process of the group is left (java included)');
  t.type(await answers(`http://${emu.host}/`), 'string', 'port no longer answers');
});

t.test('both emulators run side by side on different ports', async (t) => {
  const [a, b] = await Promise.all([startGcloudEmulator('pubsub'), startGcloudEmulator('firestore')]);
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  t.not(a.port, b.port);
  t.equal(await answers(`http://${a.host}/`), 200);
  t.equal(await answers(`http://${b.host}/`), 200);
});

t.test('a process killed without calling stop() leaves no emulator running', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'emu-leak-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'start.ts');
  writeFileSync(
    script,
    `import { startGcloudEmulator } from ${JSON.stringify(helper)};\n` +
      `const e = await startGcloudEmulator('firestore');\n` +
      `console.log(e.pgid);\n` +
      `process.kill(process.pid, 'SIGKILL');\n`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const signal = await new Promise((r) => child.once('exit', (_code, sig) => r(sig)));
  t.equal(signal, 'SIGKILL', 'the child died without cleaning up');
  const pgid = Number(out.trim());
  t.ok(pgid > 0, 'the child reported the emulator process group');
  t.ok(await until(() => !groupAlive(pgid), 15000), 'the watchdog killed the emulator tree');
});

t.test('a missing gcloud is a failure, not a skip', async (t) => {
  await t.rejects(startGcloudEmulator('pubsub', { gcloud: '/nonexistent/gcloud' }), /cannot start the pubsub emulator/);
});
