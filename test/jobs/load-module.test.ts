import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { loadJobsModule } from '../../src/jobs/load-module.ts';
import { jobContext } from './context.ts';

const defineJobUrl = pathToFileURL(join(import.meta.dirname, '../../src/jobs/define-job.ts')).href;

async function tempDir(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'jobs-module-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a .mjs module exporting `jobs` loads, and its jobs run', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'jobs.mjs');
  await writeFile(
    file,
    `export const jobs = [
      { type: 'twice', make: () => ({ type: 'twice', create() {}, serialize: () => Buffer.from('{}'), deserialize() {},
        run: async (d) => ({ state: 'succeeded', result: d * 2 }), stop: async () => {}, status: () => 'ok' }) },
    ];`,
  );
  const factories = await loadJobsModule(file);
  t.same(
    factories.map((f) => f.type),
    ['twice'],
  );
  t.same(await factories[0].make().run(21, jobContext()), { state: 'succeeded', result: 42 });
});

t.test('a default export of one defineJob factory loads from a path relative to the cwd', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'one.ts');
  await writeFile(file, `import { defineJob } from '${defineJobUrl}';\nexport default defineJob({ type: 'hello', run: async () => 'hi' });\n`);
  const factories = await loadJobsModule(relative(process.cwd(), file));
  t.equal(factories.length, 1);
  t.same(await factories[0].make().run(undefined, jobContext()), { state: 'succeeded', result: 'hi' });
});

t.test('a module of the wrong shape is refused with a clear error', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'none.mjs'), 'export const other = 1;');
  await writeFile(join(dir, 'bad.mjs'), 'export default [{ type: "x", make() {} }, { name: "y" }];');
  await writeFile(join(dir, 'string.mjs'), 'export default "jobs";');
  await t.rejects(loadJobsModule(join(dir, 'none.mjs')), {
    name: 'ConfigError',
    variable: 'JOBS_MODULE',
    message: /has no jobs: expected a default or `jobs` export/,
  });
  await t.rejects(loadJobsModule(join(dir, 'bad.mjs')), /item 1 of the export is not a job factory/);
  await t.rejects(loadJobsModule(join(dir, 'string.mjs')), /the export is not a job factory/);
});

t.test('a module that cannot be imported names the path in the error', async (t) => {
  const dir = await tempDir(t);
  await t.rejects(loadJobsModule(join(dir, 'missing.mjs')), {
    name: 'ConfigError',
    variable: 'JOBS_MODULE',
    message: /^JOBS_MODULE: ".*missing\.mjs" cannot be loaded/,
  });
});
