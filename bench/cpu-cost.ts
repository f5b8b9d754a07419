// node bench/cpu-cost.ts [--oidc] [--rounds=3] [--seconds=4]: CPU time per request
// (user+system, from /proc) of `executor serve` and of the bare route under the
// bench's push load, in alternating rounds. On a machine shared with other work
// req/s and their ratio mostly measure the scheduler; CPU per request does not.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ECHO_BODY, SERVE_ENV } from './lib/common.ts';
import { load } from './lib/load.ts';
import { startOidcBench } from './lib/oidc.ts';
import { type Proc, startProc } from './lib/proc.ts';

const here = dirname(fileURLToPath(import.meta.url));
const entry = process.env.BENCH_EXECUTOR ?? join(here, '..', 'bin', 'executor.js');
const arg = (name: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? d);
const rounds = arg('rounds', 3);
const seconds = arg('seconds', 4);
const oidc = process.argv.includes('--oidc');

/** user + system CPU of a process so far, in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

let env: Record<string, string> = { ...SERVE_ENV, ...(process.env.BENCH_LOG_LEVEL ? { LOG_LEVEL: process.env.BENCH_LOG_LEVEL } : {}) };
let headers: Record<string, string> | undefined;
let emulator: Proc | undefined;
if (oidc) {
  const o = await startOidcBench(entry);
  emulator = o.emulator;
  env = { ...o.env, ...(process.env.BENCH_LOG_LEVEL ? { LOG_LEVEL: process.env.BENCH_LOG_LEVEL } : {}) };
  headers = o.headers;
}
const bare = await startProc([join(here, 'bare-server.mjs')], {});
const serve = await startProc([entry, 'serve'], env);
const totals = { bare: { cpu: 0, n: 0, rps: 0 }, serve: { cpu: 0, n: 0, rps: 0 } };
try {
  // Warm-up: JIT and, for serve, the first lineages.
  for (const p of [bare, serve]) await load({ url: p.url, connections: 50, durationSec: 1, body: ECHO_BODY, ...(headers ? { headers } : {}) });
  for (let r = 0; r < rounds; r++) {
    for (const [name, p] of [
      ['bare', bare],
      ['serve', serve],
    ] as const) {
      const before = cpuMs(p.pid);
      const res = await load({ url: p.url, connections: 50, durationSec: seconds, body: ECHO_BODY, ...(headers ? { headers } : {}) });
      totals[name].cpu += cpuMs(p.pid) - before;
      totals[name].n += res.requests;
      totals[name].rps += res.rps / rounds;
    }
  }
} finally {
  await serve.stop();
  await bare.stop();
  await emulator?.stop();
}
const us = (t: { cpu: number; n: number }) => (1000 * t.cpu) / t.n;
console.log(
  `${oidc ? 'AUTH=oidc' : 'AUTH=none'}: serve ${us(totals.serve).toFixed(0)} µs CPU/request (${totals.serve.rps.toFixed(0)} req/s), bare ${us(totals.bare).toFixed(0)} µs (${totals.bare.rps.toFixed(0)} req/s); CPU-cost ratio bare/serve ${(us(totals.bare) / us(totals.serve)).toFixed(2)}×`,
);
