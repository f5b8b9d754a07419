// HTTP load with autocannon: keep-alive connections posting one body, each
// request with its own Cloud Tasks task name so every push is a new lineage.
import autocannon from 'autocannon';

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

let seq = 0;

export async function load(opts: {
  url: string;
  connections: number;
  durationSec: number;
  body: string;
  headers?: Record<string, string>;
  /** Per-request headers (a fresh task name by default). */
  perRequest?: (i: number) => Record<string, string>;
  path?: string;
}): Promise<LoadResult> {
  const prefix = `bench-${process.pid}-${Date.now().toString(36)}`;
  const per = opts.perRequest ?? ((i: number) => ({ 'x-cloudtasks-taskname': `${prefix}-${i}` }));
  const result = await autocannon({
    url: opts.url + (opts.path ?? '/tasks'),
    connections: opts.connections,
    duration: opts.durationSec,
    method: 'POST',
    body: opts.body,
    headers: { 'x-cloudtasks-queuename': 'incoming', ...opts.headers },
    requests: [
      {
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...per(seq++) } }),
      },
    ],
  });
  return {
    requests: result.requests.total,
    rps: result.requests.total / opts.durationSec,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** Alternate rounds of A and B (spreads machine noise over both) and sum them. */
export async function alternate(rounds: number, a: () => Promise<LoadResult>, b: () => Promise<LoadResult>): Promise<{ a: LoadResult; b: LoadResult }> {
  const acc = { a: [] as LoadResult[], b: [] as LoadResult[] };
  for (let r = 0; r < rounds; r++) {
    acc.a.push(await a());
    acc.b.push(await b());
  }
  return { a: merge(acc.a), b: merge(acc.b) };
}

function merge(rs: LoadResult[]): LoadResult {
  const n = rs.length;
  return {
    requests: rs.reduce((s, r) => s + r.requests, 0),
    rps: rs.reduce((s, r) => s + r.rps, 0) / n,
    // Percentiles do not average; the worst round's is the honest summary.
    p50: Math.max(...rs.map((r) => r.p50)),
    p99: Math.max(...rs.map((r) => r.p99)),
    errors: rs.reduce((s, r) => s + r.errors, 0),
    non2xx: rs.reduce((s, r) => s + r.non2xx, 0),
  };
}
