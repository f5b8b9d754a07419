// The README's JOBS_MODULE example, extracted and loaded as a user would.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import t from 'tap';
import { loadJobsModule } from '../src/jobs/index.ts';
import { createRegistry } from '../src/jobs/registry.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(root, 'README.md'), 'utf8');

t.test('the README job module example loads through JOBS_MODULE and runs', async (t) => {
  const jobs = README.slice(README.indexOf('## Jobs'));
  const code = /```ts\n([\s\S]*?)```/.exec(jobs)?.[1];
  t.ok(code, 'the Jobs section has a TypeScript example');
  t.match(code!, /from 'cloud-tasks-executor'/, 'the example imports only the package');
  // Here the package name points at the sources (a self-reference would load
  // dist/, which may be stale or missing); test/package/consumer.test.ts runs
  // the same example against the packed tarball.
  const dir = mkdtempSync(join(root, 'test', '.readme-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'jobs.ts');
  writeFileSync(file, code!.replaceAll("from 'cloud-tasks-executor'", `from '${pathToFileURL(join(root, 'src/index.ts')).href}'`));
  const factories = await loadJobsModule(file);
  t.same(
    factories.map((f) => f.type),
    ['resize-image'],
  );
  const job = createRegistry(factories).make('resize-image');
  job.deserialize(Buffer.from(JSON.stringify({ bucket: 'b', object: 'cat.png', width: 200 })));
  const ctx = { id: 'x', attempt: 1, maxAttempts: 3, final: false, tier: 0, signal: new AbortController().signal, log: pino({ level: 'silent' }) };
  const r = await job.run(undefined, ctx);
  t.equal(r.state, 'succeeded');
  t.same(r.result, { resized: 'cat.png@200' });
  const wide = createRegistry(factories).make('resize-image');
  wide.deserialize(Buffer.from(JSON.stringify({ bucket: 'b', object: 'x', width: 9000 })));
  await t.rejects(wide.run(undefined, ctx), { code: 'PermanentError', permanent: true });
});
