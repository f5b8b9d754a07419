import t from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
