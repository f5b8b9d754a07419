import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const BIN = fileURLToPath(new URL('../../bin/executor.js', import.meta.url));

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

t.test('bin/executor.js --help lists the submitter commands and exits 0; a usage error exits 2', async (t) => {
  const help = await run(['--help']);
  t.equal(help.code, 0, help.stderr);
  for (const cmd of ['enqueue --type T', 'status ID', 'cancel ID', 'tail', 'redrive', 'doctor']) t.match(help.stdout, cmd);
  const bad = await run(['status']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /usage: executor status ID/);
});

t.test('the bin runs src/ wherever it exists (a stale dist/ in the repository is never used) and dist/ in the installed package', async (t) => {
  const { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'bin-choice-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'bin'));
  cpSync(BIN, join(dir, 'bin', 'executor.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  const fake = (which: string) => `export async function main() { console.log(${JSON.stringify(which)}); return 0; }\n`;
  mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'cli', 'main.js'), fake('dist'));
  const runBin = (env: Record<string, string> = {}) =>
    new Promise<string>((resolve) =>
      execFile(process.execPath, [join(dir, 'bin', 'executor.js')], { env: { PATH: process.env.PATH ?? '', ...env } }, (_e, stdout) => resolve(stdout.trim())),
    );
  t.equal(await runBin(), 'dist', 'the package (no src/) runs dist/');
  mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'src', 'cli', 'main.ts'), fake('src'));
  t.equal(await runBin(), 'src', 'a checkout runs src/ even with a dist/ beside it');
  t.equal(await runBin({ EXECUTOR_FROM_DIST: '1' }), 'dist', 'EXECUTOR_FROM_DIST=1 runs the built dist/ in a checkout (npm run bench)');
});

t.test('a failure that escapes main (a broken install) is still one line without a stack trace, exit 1', async (t) => {
  const { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'bin-broken-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'bin'));
  cpSync(BIN, join(dir, 'bin', 'executor.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'cli', 'main.js'), "import 'no-such-package-anywhere';\nexport async function main() { return 0; }\n");
  const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(process.execPath, [join(dir, 'bin', 'executor.js'), 'status'], (err, _stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, stderr }),
    ),
  );
  t.equal(r.code, 1);
  const lines = r.stderr.split('\n').filter(Boolean);
  t.equal(lines.length, 1, r.stderr);
  t.match(lines[0], /^executor: internal error: .*no-such-package-anywhere.* \(reinstall the package/);
  t.notMatch(r.stderr, /^\s+at /m);
});
