// The README's quickstart gcloud example, run exactly as pasted (only the
// ports differ: tests never use fixed ones) against `executor dev`.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import t from 'tap';
import { startDev } from '../../src/dev.ts';
import { freePort } from '../helpers/free-port.ts';

const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

function quickstartGcloudBlock(): string[] {
  const quick = README.slice(README.indexOf('## Quickstart'));
  const blocks = [...quick.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const block = blocks.find((b) => b.includes('gcloud tasks create-http-task'));
  if (!block) throw new Error('README quickstart has no gcloud example');
  // Join continuation lines, drop trailing comments.
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

function bash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-euo', 'pipefail', '-c', script], { env, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

t.test('the README quickstart gcloud example works as pasted against npm start', async (t) => {
  const workerPort = await freePort();
  const emulatorPort = await freePort();
  const stack = await startDev({ PORT: String(workerPort), EMULATOR_PORT: String(emulatorPort), HOST: '127.0.0.1' }, pino({ level: 'silent' }));
  t.teardown(() => stack.stop());
  const home = mkdtempSync(join(tmpdir(), 'readme-home-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));

  const lines = quickstartGcloudBlock().map((l) => l.replaceAll(':8123', `:${emulatorPort}`).replaceAll(':8080', `:${workerPort}`));
  t.ok(
    lines.some((l) => l.startsWith('gcloud tasks create-http-task')),
    'the block creates a task',
  );
  const curl = lines.filter((l) => l.startsWith('curl'));
  const setup = lines.filter((l) => !l.startsWith('curl'));
  const env = { PATH: process.env.PATH, HOME: home, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' };
  const r = await bash(setup.join('\n'), env);
  t.equal(r.code, 0, `gcloud commands succeed:\n${r.stderr}`);

  const end = Date.now() + 20000;
  while (!stack.sink.list({ type: 'executor.task.succeeded' }).length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const ok = stack.sink.list({ type: 'executor.task.succeeded' });
  t.equal(ok.length, 1, 'the echo task succeeded and the sink was told');
  t.same(ok[0]?.data.result, { data: { hello: 'world' }, args: {} });

  t.equal(curl.length, 1, 'the block shows how to read notifications');
  const c = await bash(curl[0]!, env);
  t.equal(c.code, 0);
  t.match(c.stdout, /executor\.task\.succeeded/);
});
