// The README's seed 000 flow ("Jobs of many tasks"), extracted and run as a
// user would, against `executor dev`.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { devStack } from './cli/capture-io.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(root, 'README.md'), 'utf8');

t.test('the README job flow runs as written: execute, watch, cancel on error, state and tasks in error', async (t) => {
  const section = README.slice(README.indexOf('## Jobs of many tasks'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  t.ok(code, 'the section has a TypeScript example');
  const s = await devStack(t);
  // The package's exports name the built dist/, which a clean checkout lacks
  // (the packed package is tested from a consumer project in
  // test/package/consumer.test.ts): here the import names the sources.
  t.match(code!, /from 'cloud-tasks-executor\/client'/, 'the example imports the package by its name');
  const dir = mkdtempSync(join(root, 'test', '.readme-jobs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'flow.ts');
  writeFileSync(file, code!.replace(/'cloud-tasks-executor\/client'/g, JSON.stringify(pathToFileURL(join(root, 'src', 'client', 'index.ts')).href)));
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [file],
      {
        env: { PATH: process.env.PATH ?? '', SERVICE_URL: s.server.url, CLOUD_TASKS_EMULATOR_HOST: `127.0.0.1:${s.emulator.port}` },
        timeout: 120_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  t.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  t.match(lines[0], /^job \S+ failed: 1 of 3 tasks in error \(task 1 \("second"\)\)/, 'watch rejected with the tasks in error');
  t.notMatch(run.stdout, /Error cancelling job/, 'cancel of an ended job is harmless');
  t.equal(lines[1], 'state: Failed');
  t.match(lines[2], /^Task errors: \S+-1 \[\{"code":"EchoFailed","message":"echo asked to fail permanently","permanent":true\}\]$/);
  t.equal(lines.length, 3);
  const deadline = Date.now() + 30_000;
  while (s.sink.list({ type: 'executor.job.completed' }).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const completed = s.sink.list({ type: 'executor.job.completed' });
  t.equal(completed.length, 1, 'one executor.job.completed');
  t.match(completed[0]?.data, { size: 3, counts: { succeeded: 2, failed: 1, cancelled: 0 }, labels: { namespace: 'batch', business: 'acme' } });
});
