// npm run bench [-- --quick]: every figure of the README's Performance table in
// one run, each server in its own process, executor always beside a bare
// Fastify route that parses the same body, in alternating rounds. Prints a
// markdown table with the machine and writes bench/results.json. Nothing here
// asserts a time: it reports what it measured and the target it is compared to.

import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ECHO_BODY, type Row, SERVE_ENV } from './lib/common.ts';
import { emulatorDispatchFigure } from './lib/emulator.ts';
import { firestoreFigure } from './lib/firestore.ts';
import { chainFigure, inflightFigure } from './lib/flows.ts';
import { alternate, type LoadResult, load } from './lib/load.ts';
import { startOidcBench } from './lib/oidc.ts';
import { type Proc, startProc } from './lib/proc.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const quick = process.argv.includes('--quick');
// The compiled package, as users run it (dist/, built once below), unless --src.
const fromSource = process.argv.includes('--src');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');

const settings = {
  quick,
  connections: 50,
  durationSec: quick ? 3 : 5,
  rounds: quick ? 2 : 3,
  inflight: 1000,
  emulatorTasks: quick ? 5_000 : 20_000,
  chainTasks: quick ? 2_000 : 10_000,
  executorEntry: process.env.BENCH_EXECUTOR ?? join(root, 'bin', 'executor.js'),
  bareEntry: join(here, 'bare-server.mjs'),
};

const rows: Row[] = [];
const raw: Record<string, unknown> = {};
const mib = (b: number) => b / 1024 / 1024;
const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

function want(name: string) {
  return !only || only.includes(name);
}

async function pushFigures() {
  const bare = await startProc([settings.bareEntry], {});
  const serve = await startProc([settings.executorEntry, 'serve'], SERVE_ENV);
  try {
    await sleep(1500);
    const idle = { bare: bare.rss(), serve: serve.rss() };
    raw.idleRss = idle;
    rows.push({
      figure: 'RSS of `serve`, idle, memory ledger / bare Fastify idle RSS',
      executor: `${f(mib(idle.serve), 0)} MiB`,
      baseline: `${f(mib(idle.bare), 0)} MiB`,
      ratio: idle.serve / idle.bare,
      target: '≤ 1.3×',
      met: idle.serve / idle.bare <= 1.3,
    });

    const run = (p: Proc) => () => load({ url: p.url, connections: settings.connections, durationSec: settings.durationSec, body: ECHO_BODY });
    const { a: b, b: e } = await alternate(settings.rounds, run(bare), run(serve));
    raw.push = { bare: b, executor: e };
    rows.push({
      figure: `\`POST /tasks\` throughput / bare route (${settings.connections} connections)`,
      executor: `${f(e.rps, 0)} req/s`,
      baseline: `${f(b.rps, 0)} req/s`,
      ratio: e.rps / b.rps,
      target: '≥ 0.75× (stretch 0.9×)',
      met: e.rps / b.rps >= 0.75,
      note: errorsNote(e),
    });
    rows.push({
      figure: `p99 latency at ${settings.connections} connections`,
      executor: `${f(e.p99, 1)} ms`,
      baseline: `${f(b.p99, 1)} ms`,
      value: e.p99,
      target: '≤ 10 ms',
      met: e.p99 <= 10,
    });
  } finally {
    await serve.stop();
    await bare.stop();
  }
}

/**
 * Bytes kept per finished lineage: a `serve` of its own, started with the
 * inspector so a full GC can be forced from outside (the server needs no
 * --expose-gc or debug route). A warm-up round of the same load first (JIT
 * code, the young generation grown to its working size, buffers), then GC and
 * a baseline, then the rounds, then GC again: the growth of RSS and of the
 * heap in use, divided by the lineages the rounds finished.
 */
async function finishedFigure() {
  const serve = await startProc([settings.executorEntry, 'serve'], SERVE_ENV, { inspect: true });
  try {
    const push = (durationSec: number) => load({ url: serve.url, connections: settings.connections, durationSec, body: ECHO_BODY });
    const warm = await push(settings.durationSec);
    await sleep(500);
    const before = await serve.collectGarbage();
    let lineages = 0;
    for (let r = 0; r < settings.rounds; r++) lineages += (await push(settings.durationSec)).requests;
    await sleep(1000);
    const after = await serve.collectGarbage();
    const rssPer = (after.rss - before.rss) / Math.max(1, lineages);
    const heapPer = (after.heapUsed - before.heapUsed) / Math.max(1, lineages);
    raw.finished = { warmup: warm.requests, lineages, before, after, rssBytesPerLineage: rssPer, heapBytesPerLineage: heapPer };
    rows.push({
      figure: `RSS after ${lineages.toLocaleString('en-US')} finished echo lineages (memory ledger)`,
      executor: `${f(mib(after.rss), 0)} MiB (${f(rssPer, 0)} B RSS, ${f(heapPer, 0)} B heap per lineage)`,
      baseline: `${f(mib(before.rss), 0)} MiB before`,
      value: rssPer,
      target: '≤ 1 KiB per finished lineage kept',
      met: rssPer <= 1024,
      note: 'growth after a forced GC (inspector) over a warmed-up baseline, divided by lineages',
    });
  } finally {
    await serve.stop();
  }
}

async function oidcFigure() {
  const { emulator, env, headers } = await startOidcBench(settings.executorEntry);
  try {
    const bare = await startProc([settings.bareEntry], {});
    const serve = await startProc([settings.executorEntry, 'serve'], env);
    try {
      const run = (p: Proc) => () =>
        load({
          url: p.url,
          connections: settings.connections,
          durationSec: settings.durationSec,
          body: ECHO_BODY,
          headers,
        });
      const { a: b, b: e } = await alternate(settings.rounds, run(bare), run(serve));
      raw.oidc = { bare: b, executor: e };
      rows.push({
        figure: 'with `AUTH=oidc` (certificates cached) / bare route',
        executor: `${f(e.rps, 0)} req/s`,
        baseline: `${f(b.rps, 0)} req/s`,
        ratio: e.rps / b.rps,
        target: '≥ 0.6×',
        met: e.rps / b.rps >= 0.6,
        note: errorsNote(e),
      });
    } finally {
      await serve.stop();
      await bare.stop();
    }
  } finally {
    await emulator.stop();
  }
}

function errorsNote(r: LoadResult): string | undefined {
  return r.errors || r.non2xx ? `${r.errors} errors, ${r.non2xx} non-2xx replies` : undefined;
}

/** Newest modification time of the files under `dir` (ms). */
function newest(dir: string): number {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) max = Math.max(max, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return max;
}

/** npm run build once, unless dist/ is newer than every source file; then every executor process runs dist/. */
function useDist(): void {
  let built = 0;
  try {
    built = statSync(join(root, 'dist', 'cli', 'main.js')).mtimeMs;
  } catch {
    // never built
  }
  if (built === 0 || newest(join(root, 'src')) > built) {
    console.error('bench: npm run build (dist/ is missing or older than src/)...');
    execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  // bin/executor.js runs dist/ in a checkout when told; every child inherits it.
  process.env.EXECUTOR_FROM_DIST = '1';
}

async function main() {
  const started = Date.now();
  if (!fromSource) useDist();
  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
    quick,
    executor: fromSource ? 'src (type stripping)' : 'dist (compiled)',
    date: new Date().toISOString(),
  };
  console.error(`bench: ${quick ? 'quick' : 'full'} run on ${machine.cores} cores, Node ${machine.node}`);
  const figures: Array<[string, () => Promise<void>]> = [
    ['push', pushFigures],
    ['finished', finishedFigure],
    ['oidc', oidcFigure],
    [
      'inflight',
      async () => {
        rows.push(await inflightFigure(settings, raw));
      },
    ],
    [
      'firestore',
      async () => {
        rows.push(await firestoreFigure(settings, raw));
      },
    ],
    [
      'emulator',
      async () => {
        rows.push(await emulatorDispatchFigure(settings, raw));
      },
    ],
    [
      'chain',
      async () => {
        rows.push(await chainFigure(settings, raw));
      },
    ],
    [
      'pull',
      async () => {
        rows.push(await (await import('./pull.ts')).pullFigure(settings, raw));
      },
    ],
  ];
  for (const [name, fig] of figures) {
    if (!want(name)) continue;
    console.error(`bench: ${name}...`);
    try {
      await fig();
    } catch (err) {
      rows.push({ figure: name, executor: 'failed', baseline: '', target: '', note: (err as Error).message.split('\n')[0] });
      console.error(`bench: ${name} failed: ${(err as Error).stack}`);
    }
  }
  const lines = [
    `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}; ${quick ? 'quick' : 'full'} run, ${settings.rounds} alternating rounds of ${settings.durationSec} s per server; executor from ${machine.executor}.`,
    '',
    '| figure | executor | baseline | ratio / value | target | met |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.figure} | ${r.executor} | ${r.baseline} | ${r.ratio !== undefined ? `${f(r.ratio)}×` : r.value !== undefined ? f(r.value, 1) : ''} | ${r.target} | ${r.met === undefined ? '' : r.met ? 'yes' : 'no'}${r.note ? ` (${r.note})` : ''} |`,
    ),
  ];
  console.log(lines.join('\n'));
  writeFileSync(
    join(here, 'results.json'),
    `${JSON.stringify({ machine, settings: { ...settings, executorEntry: undefined, bareEntry: undefined }, rows, raw }, null, 2)}\n`,
  );
  console.error(`bench: done in ${((Date.now() - started) / 1000).toFixed(0)} s; bench/results.json written`);
}

await main();
