// The package as a user gets it: `npm pack` (prepack compiles dist/), the
// tarball installed into a fresh project outside the repository, and used
// from there with the pinned Node: the SDK from plain ESM and from TypeScript
// compiled under an ordinary nodenext tsconfig, `executor dev` from the
// installed bin with a JOBS_MODULE of the project's own, and the README's
// install, SDK and emulator-client examples run as pasted.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { freePort } from '../helpers/free-port.ts';
import { until as waitFor } from '../helpers/until.ts';

// Installing a tarball with the Google clients takes a while on a busy machine.
t.setTimeout(900_000);

const root = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(root, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
// The pinned Node (npm test runs under it) comes first on PATH, for npm, npx and the bins.
const PATH = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        env: { ...process.env, PATH, npm_config_update_notifier: 'false', ...opts.env },
        timeout: opts.timeoutMs ?? 600_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) || 1 : 0, stdout, stderr }),
    );
  });
}

/** The first fenced block of a README section that contains `marker`. */
function readmeBlock(section: string, lang: string, marker: string): string {
  const from = README.indexOf(`\n## ${section}`);
  if (from < 0) throw new Error(`README has no section "${section}"`);
  const next = README.indexOf('\n## ', from + 4);
  const text = README.slice(from, next < 0 ? undefined : next);
  const block = [...text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]!).find((b) => b.includes(marker));
  if (!block) throw new Error(`README section "${section}" has no ${lang} block with ${marker}`);
  return block;
}

const work = mkdtempSync(join(tmpdir(), 'cte-consumer-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const packDir = join(work, 'pack');
const app = join(work, 'app');
mkdirSync(packDir);
mkdirSync(app);

t.test('npm pack ships dist and bin only', async (t) => {
  const r = await run('npm', ['pack', '--pack-destination', packDir, '--json'], { cwd: root });
  t.equal(r.code, 0, `npm pack succeeds\n${r.stderr.slice(-2000)}`);
  const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const paths = info!.files.map((f) => f.path);
  t.ok(paths.includes('dist/index.js') && paths.includes('dist/index.d.ts'), 'the root entry, compiled, with types');
  t.ok(paths.includes('dist/client/index.js') && paths.includes('dist/client/index.d.ts'), 'the client entry, compiled, with types');
  t.ok(paths.includes('bin/executor.js'));
  t.ok(paths.includes('LICENSE'), 'the licence the package.json names ships with it');
  const stray = paths.filter((p) => !/^(dist\/|bin\/|package\.json$|README\.md$|LICENSE$)/.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts')));
  t.same(stray, [], 'no sources, tests, infra or bench');
});

t.test('installed in a fresh project outside the repository', async (t) => {
  const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
  t.ok(tarball, 'npm pack wrote a tarball');
  if (!tarball) return;
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', version: '1.0.0', private: true, type: 'module' }, null, 2));
  const inst = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(packDir, tarball)], { cwd: app });
  t.equal(inst.code, 0, `npm install of the tarball succeeds\n${inst.stderr.slice(-3000)}`);
  if (inst.code !== 0) return;
  t.notOk(existsSync(join(app, 'node_modules', pkg.name, 'src')), 'no TypeScript sources were installed');

  t.test('(d) npx cloud-tasks-executor --version prints the version', async (t) => {
    const r = await run('npx', [pkg.name, '--version'], { cwd: app });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim(), pkg.version);
    t.notMatch(r.stderr, /EBADENGINE|Error/, 'no engine warnings or errors');
  });

  // The README's job-module example (TypeScript: Node strips the types of a
  // project's own files) and a plain-JavaScript one, through one JOBS_MODULE.
  writeFileSync(join(app, 'readme-jobs.ts'), readmeBlock('Jobs', 'ts', 'defineJob'));
  writeFileSync(
    join(app, 'jobs.mjs'),
    `import { defineJob, Type, PermanentError } from '${pkg.name}';
import readmeJobs from './readme-jobs.ts';

const shout = defineJob({
  type: 'shout',
  args: Type.Object({ word: Type.String({ minLength: 1 }) }),
  async run(args) {
    if (args.word === 'never') throw new PermanentError('refused');
    return { shouted: args.word.toUpperCase() };
  },
});
export default [shout, ...readmeJobs];
`,
  );

  const port = await freePort();
  const emulatorPort = await freePort();
  const blobDir = join(work, 'blobs');
  const dev: ChildProcess = spawn(process.execPath, [join(app, 'node_modules', '.bin', pkg.name), 'dev'], {
    cwd: app,
    env: { ...process.env, PATH, PORT: String(port), EMULATOR_PORT: String(emulatorPort), JOBS_MODULE: './jobs.mjs', BLOB_DIR: blobDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let devOut = '';
  dev.stdout!.on('data', (c) => (devOut += c));
  dev.stderr!.on('data', (c) => (devOut += c));
  t.teardown(() => {
    dev.kill('SIGTERM');
  });
  await waitFor(
    'executor dev from the installed bin',
    () =>
      devOut.includes('executor dev is running')
        ? true
        : dev.exitCode !== null
          ? (() => {
              throw new Error(`dev exited: ${devOut}`);
            })()
          : undefined,
    120_000,
  );
  const serviceUrl = `http://127.0.0.1:${port}`;
  const ports = (s: string) =>
    s.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`).replaceAll('127.0.0.1:8123', `127.0.0.1:${emulatorPort}`).replaceAll(': 8123,', `: ${emulatorPort},`);

  t.test('the banner names the blob folder and every variable the CLI needs', async (t) => {
    const line = devOut.split('\n').find((l) => l.trim().startsWith('export CLOUD_TASKS_EMULATOR_HOST='));
    t.ok(line, 'a pasteable export line');
    for (const v of ['CLOUD_TASKS_EMULATOR_HOST=', 'SERVICE_URL=', 'CHAIN=', `BLOB_DIR=${blobDir}`]) t.match(line ?? '', v);
    t.match(devOut, `npx ${pkg.name} enqueue`, 'the installed command, not the bare name executor');
  });

  t.test('the dashboard ships in the package: /ui and its script answer from the installed dev', async (t) => {
    const page = await fetch(`${serviceUrl}/ui`);
    t.equal(page.status, 200);
    t.match(await page.text(), /<script src="\/ui\/app\.js"/);
    t.equal((await fetch(`${serviceUrl}/ui/app.js`)).status, 200);
  });

  const sdk = readmeBlock('Submitter SDK', 'js', "from 'cloud-tasks-executor/client'");

  t.test('(a) the README SDK example as a plain ESM .mjs file', async (t) => {
    writeFileSync(join(app, 'sdk.mjs'), ports(sdk));
    const r = await run(process.execPath, ['sdk.mjs'], { cwd: app, timeoutMs: 180_000 });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim(), 'succeeded {"data":{"hello":"world"},"args":{}}');
  });

  t.test('(b) the same example as TypeScript compiled by tsc under module nodenext', async (t) => {
    const ts = join(app, 'ts');
    mkdirSync(ts, { recursive: true });
    writeFileSync(join(ts, 'sdk.ts'), ports(sdk));
    writeFileSync(
      join(ts, 'jobs.ts'),
      `import { defineJob, Type, RetryableError, type JobFactory } from '${pkg.name}';\nexport const jobs: JobFactory[] = [defineJob({ type: 't', args: Type.Object({ n: Type.Integer() }), async run(args) { if (args.n < 0) throw new RetryableError('negative'); return args.n + 1; } })];\n`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify(
        {
          compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, outDir: 'out', rootDir: 'ts', types: [], skipLibCheck: false },
          include: ['ts'],
        },
        null,
        2,
      ),
    );
    const tsc = await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: app, timeoutMs: 300_000 });
    t.equal(tsc.code, 0, `tsc compiles against the package's .d.ts\n${tsc.stdout}${tsc.stderr}`);
    if (tsc.code !== 0) return;
    const r = await run(process.execPath, ['out/sdk.js'], { cwd: app, timeoutMs: 180_000 });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim(), 'succeeded {"data":{"hello":"world"},"args":{}}');
  });

  t.test("(c) the project's JOBS_MODULE (JavaScript and the README's TypeScript) runs in executor dev", async (t) => {
    const env = { CLOUD_TASKS_EMULATOR_HOST: `127.0.0.1:${emulatorPort}`, SERVICE_URL: serviceUrl, BLOB_DIR: blobDir };
    const shout = await run('npx', [pkg.name, 'enqueue', '--type', 'shout', '--args', '{"word":"hi"}', '--watch', '--json'], { cwd: app, env });
    t.equal(shout.code, 0, shout.stderr);
    const rec = JSON.parse(shout.stdout.trim().split('\n').at(-1)!);
    t.equal(rec.state, 'succeeded');
    t.same(rec.result, { shouted: 'HI' });
    const refused = await run('npx', [pkg.name, 'enqueue', '--type', 'shout', '--args', '{"word":"never"}', '--watch', '--json'], { cwd: app, env });
    t.equal(refused.code, 1, 'a PermanentError from the project fails the task (exit 1)');
    t.equal(JSON.parse(refused.stdout.trim().split('\n').at(-1)!).error?.code, 'PermanentError');
    const resize = await run(
      'npx',
      [pkg.name, 'enqueue', '--type', 'resize-image', '--args', '{"bucket":"b","object":"cat.png","width":200}', '--watch', '--json'],
      { cwd: app, env },
    );
    t.equal(resize.code, 0, resize.stderr);
    t.same(JSON.parse(resize.stdout.trim().split('\n').at(-1)!).result, { resized: 'cat.png@200' });
  });

  t.test('the README install block runs as pasted (ports aside)', async (t) => {
    const block = readmeBlock('Install: use it from your own project', 'sh', 'npm install cloud-tasks-executor');
    const lines = block
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('npm install') && !/ dev$/.test(l));
    t.ok(
      lines.some((l) => l.includes(' enqueue ')),
      'the block enqueues',
    );
    const script = ports(lines.join('\n')).replaceAll('/tmp/cloud-tasks-executor/blobs', blobDir);
    const r = await run('bash', ['-euo', 'pipefail', '-c', script], { cwd: app });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /state\s+succeeded/);
    t.match(r.stdout, new RegExp(`^${pkg.version.replaceAll('.', '\\.')}$`, 'm'));
  });

  t.test('the README emulator-client recipe runs as pasted (ports aside), getProjectId included', async (t) => {
    const recipe = readmeBlock('The local Cloud Tasks emulator', 'js', 'PassThroughClient');
    t.match(recipe, /new GoogleAuth\(\{ authClient: new PassThroughClient\(\), projectId \}\)/);
    writeFileSync(join(app, 'emulator-client.mjs'), ports(recipe));
    const r = await run(process.execPath, ['emulator-client.mjs'], { cwd: app, timeoutMs: 120_000 });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout.trim(), /^projects\/local-project\/locations\/us-central1\/queues\/incoming\/tasks\/\S+$/);
  });

  t.test('the installed package runs on Node 22 too: --version, executor dev and the SDK example', async (t) => {
    // engines says >=22; the suite itself runs on the pinned Node 24. Node 22 comes
    // from the npm registry as a plain binary package (no install scripts).
    const nodeDir = join(work, 'node22');
    mkdirSync(nodeDir);
    const binPkg = `node-${process.platform}-${process.arch}`;
    const inst = await run('npm', ['install', '--prefix', nodeDir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `${binPkg}@22`], {
      cwd: nodeDir,
    });
    t.equal(inst.code, 0, `npm install ${binPkg}@22\n${inst.stderr.slice(-2000)}`);
    const node22 = join(nodeDir, 'node_modules', binPkg, 'bin', 'node');
    const version = await run(node22, ['--version'], { cwd: app });
    t.match(version.stdout.trim(), /^v22\./, 'a Node 22 binary');
    const bin = join(app, 'node_modules', '.bin', pkg.name);
    const v = await run(node22, [bin, '--version'], { cwd: app });
    t.equal(v.code, 0, v.stderr);
    t.equal(v.stdout.trim(), pkg.version);

    const port22 = await freePort();
    const emulator22 = await freePort();
    const dev22: ChildProcess = spawn(node22, [bin, 'dev', '--fresh'], {
      cwd: app,
      env: { ...process.env, PATH, PORT: String(port22), EMULATOR_PORT: String(emulator22), BLOB_DIR: join(work, 'blobs22'), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out22 = '';
    dev22.stdout!.on('data', (c) => (out22 += c));
    dev22.stderr!.on('data', (c) => (out22 += c));
    t.teardown(() => {
      dev22.kill('SIGTERM');
    });
    await waitFor(
      'executor dev under Node 22',
      () => {
        if (out22.includes('executor dev is running')) return true;
        if (dev22.exitCode !== null) throw new Error(`dev under Node 22 exited: ${out22}`);
        return undefined;
      },
      120_000,
    );
    const script = sdk
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${port22}`)
      .replaceAll('127.0.0.1:8123', `127.0.0.1:${emulator22}`)
      .replaceAll(': 8123,', `: ${emulator22},`);
    writeFileSync(join(app, 'sdk22.mjs'), script);
    const r = await run(node22, ['sdk22.mjs'], { cwd: app, timeoutMs: 180_000 });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim(), 'succeeded {"data":{"hello":"world"},"args":{}}', 'the SDK on Node 22 against executor dev on Node 22');
  });
});
