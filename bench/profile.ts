// node bench/profile.ts [--oidc] [--seconds=8]: `executor serve` under the bench's
// push load with --cpu-prof, then the summary of bench/profile-summary.mjs (the
// frames kept in bench/PROFILE.md). The profile is written to the system temp dir.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ECHO_BODY, SERVE_ENV } from './lib/common.ts';
import { load } from './lib/load.ts';
import { startOidcBench } from './lib/oidc.ts';
import { startProc } from './lib/proc.ts';

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, '..', 'bin', 'executor.js');
const oidc = process.argv.includes('--oidc');
const seconds = Number(process.argv.find((a) => a.startsWith('--seconds='))?.slice('--seconds='.length) ?? 8);
const dir = mkdtempSync(join(tmpdir(), 'executor-profile-'));

let env: Record<string, string> = SERVE_ENV;
let headers: Record<string, string> | undefined;
let emulator: Awaited<ReturnType<typeof startProc>> | undefined;
if (oidc) {
  const o = await startOidcBench(entry);
  ({ emulator, env, headers } = o);
}
const serve = await startProc(['--cpu-prof', `--cpu-prof-dir=${dir}`, entry, 'serve'], env);
try {
  await sleep(1000);
  const r = await load({ url: serve.url, connections: 50, durationSec: seconds, body: ECHO_BODY, ...(headers ? { headers } : {}) });
  console.error(`profile: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, ${r.errors} errors, ${r.non2xx} non-2xx`);
} finally {
  await serve.stop('SIGINT');
  await emulator?.stop();
}
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile written in ${dir}`);
console.error(`profile: ${join(dir, file)}`);
console.log(execFileSync(process.execPath, [join(here, 'profile-summary.mjs'), join(dir, file)], { encoding: 'utf8' }));
