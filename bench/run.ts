// npm run bench: the cost of executor's push path measured against a bare
// Fastify route on the same machine, in one run, reported as ratios. Both
// servers get the same load: CONCURRENCY keep-alive clients posting a small
// JSON body for DURATION_MS each, in alternating rounds to spread noise.
// Nothing here asserts a time; it prints what it measured.
import Fastify from 'fastify';
import pino from 'pino';
import { Agent, request } from 'node:http';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createMemoryLedger } from '../src/ledger/memory-ledger.ts';
import { createRegistry } from '../src/jobs/registry.ts';
import { echoJob } from '../src/jobs/echo-job.ts';
import { systemClock, type Notifier } from '../src/interfaces.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BODY = JSON.stringify({ type: 'echo', data: { hello: 'world', n: 42 } });

interface Stats {
  requests: number;
  errors: number;
  latencies: number[];
}

async function load(port: number, path: string, nameFor: (i: number) => string): Promise<Stats> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const stats: Stats = { requests: 0, errors: 0, latencies: [] };
  const end = Date.now() + DURATION_MS;
  let seq = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const i = seq++;
      const t0 = process.hrtime.bigint();
      const req = request(
        { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'x-cloudtasks-taskname': nameFor(i), 'x-cloudtasks-queuename': 'incoming', 'content-length': Buffer.byteLength(BODY) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            stats.latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
            if (res.statusCode !== 200) stats.errors++;
            stats.requests++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        stats.errors++;
        resolve();
      });
      req.end(BODY);
    });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) await one();
    }),
  );
  agent.destroy();
  return stats;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function main() {
  // The baseline reads the body the same way (raw bytes, any or no
  // Content-Type, as Cloud Tasks sends it) and parses it as JSON.
  const bare = Fastify();
  bare.removeAllContentTypeParsers();
  bare.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  bare.post('/tasks', async (req) => ({ ok: typeof JSON.parse(String(req.body)).type === 'string' }));
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const barePort = (bare.server.address() as { port: number }).port;

  const config = loadConfig({ CHAIN: 'incoming', NOTIFY_ON: 'failed', MAX_CONCURRENCY: '10000' }, 'dev');
  const silent: Notifier = { send: async () => {}, close: async () => {} };
  const { app } = buildApp(config, {
    ledger: createMemoryLedger({ maxRecords: 10_000_000 }),
    notifier: silent,
    registry: createRegistry([echoJob()]),
    clock: systemClock,
    logger: pino({ level: 'silent' }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const exPort = (app.server.address() as { port: number }).port;

  const totals = { bare: { requests: 0, errors: 0, latencies: [] as number[] }, executor: { requests: 0, errors: 0, latencies: [] as number[] } };
  let round = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, port] of [['bare', barePort], ['executor', exPort]] as const) {
      const s = await load(port, '/tasks', (i) => `bench-${round}-${i}`);
      round++;
      totals[name].requests += s.requests;
      totals[name].errors += s.errors;
      totals[name].latencies.push(...s.latencies);
    }
  }
  const secs = (DURATION_MS * ROUNDS) / 1000;
  const row = (name: 'bare' | 'executor') => {
    const s = totals[name];
    return { rps: s.requests / secs, p50: pct(s.latencies, 50), p99: pct(s.latencies, 99), errors: s.errors };
  };
  const b = row('bare');
  const e = row('executor');
  const f = (n: number, d = 1) => n.toFixed(d);
  console.log(`executor bench: ${CONCURRENCY} connections, ${ROUNDS} x ${DURATION_MS} ms per server, Node ${process.versions.node}`);
  console.log(`  bare fastify route   ${f(b.rps, 0).padStart(7)} req/s   p50 ${f(b.p50, 2)} ms   p99 ${f(b.p99, 2)} ms   errors ${b.errors}`);
  console.log(`  executor POST /tasks ${f(e.rps, 0).padStart(7)} req/s   p50 ${f(e.p50, 2)} ms   p99 ${f(e.p99, 2)} ms   errors ${e.errors}`);
  console.log(`  ratio executor/bare  throughput ${f(e.rps / b.rps, 2)}x   p50 latency ${f(e.p50 / b.p50, 2)}x   p99 latency ${f(e.p99 / b.p99, 2)}x`);
  console.log('  (echo job, memory ledger, notifications off: the cost of parsing, counting, running and recording one delivery)');
  await app.close();
  await bare.close();
}

await main();
if (process.env.BENCH_PULL !== '0') await (await import('./pull.ts')).benchPull();
