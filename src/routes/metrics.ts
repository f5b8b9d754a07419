// GET /metrics: Prometheus text from prom-client. One registry per app (tests
// build many apps in one process); Cloud Monitoring / Prometheus scrapes each
// instance. Deliveries are counted by the instrumented delivery (app.ts),
// ledger calls by the timed ledger below.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AttemptLedger } from '../interfaces.ts';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export interface MetricsSources {
  running: () => number;
  /** Dead letters waiting for a redrive; read at most every deadLetterCacheMs. */
  deadLetters: () => Promise<number>;
  deadLetterCacheMs?: number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly deliveries = new Counter({
    name: 'executor_deliveries_total',
    help: 'Deliveries by outcome, queue, tier and job type.',
    labelNames: ['outcome', 'queue', 'tier', 'type'] as const,
    registers: [this.registry],
  });
  readonly deliveryLatency = new Histogram({
    name: 'executor_delivery_latency_seconds',
    help: 'From the task\u2019s scheduled time (X-CloudTasks-TaskETA) to the push reaching the worker.',
    labelNames: ['queue'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly deliveryDuration = new Histogram({
    name: 'executor_delivery_duration_seconds',
    help: 'Time the worker took to answer a push, by outcome and queue.',
    labelNames: ['outcome', 'queue'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'executor_job_duration_seconds',
    help: 'Run time of jobs, by job type and tier.',
    labelNames: ['type', 'tier'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly ledgerLatency = new Histogram({
    name: 'executor_ledger_operation_seconds',
    help: 'Attempt ledger calls, by operation and result.',
    labelNames: ['op', 'result'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor(sources?: MetricsSources) {
    if (!sources) return;
    new Gauge({
      name: 'executor_jobs_running',
      help: 'Jobs running in this process.',
      registers: [this.registry],
      collect() {
        this.set(sources.running());
      },
    });
    let cached: { at: number; value: number } | undefined;
    const cacheMs = sources.deadLetterCacheMs ?? 30_000;
    new Gauge({
      name: 'executor_dead_letters_pending',
      help: 'Dead letters (failed forwards and notifications) waiting for a redrive.',
      registers: [this.registry],
      async collect() {
        if (!cached || Date.now() - cached.at >= cacheMs) {
          try {
            cached = { at: Date.now(), value: await sources.deadLetters() };
          } catch {
            return; // the ledger is unreachable: keep the last value; /readyz says why
          }
        }
        this.set(cached.value);
      },
    });
  }

  /** The value of executor_deliveries_total summed over the labels that match. */
  async deliveriesCount(match: Partial<Record<'outcome' | 'queue' | 'tier' | 'type', string>> = {}): Promise<number> {
    const metric = await this.deliveries.get();
    return metric.values
      .filter((v) => Object.entries(match).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
      .reduce((a, v) => a + v.value, 0);
  }
}

/**
 * The ledger with each call timed into executor_ledger_operation_seconds.
 * Per call: one performance.now() pair and one observe on a child bound to
 * its labels once here (no timer closure, no label hashing per delivery).
 */
export function timedLedger(ledger: AttemptLedger, metrics: Metrics): AttemptLedger {
  const timed = {} as Record<string, unknown>;
  for (const op of ['begin', 'finish', 'get', 'list', 'setStatusText', 'cancel', 'putDeadLetter', 'listDeadLetters', 'removeDeadLetter', 'ping'] as const) {
    const ok = metrics.ledgerLatency.labels({ op, result: 'ok' });
    const failed = metrics.ledgerLatency.labels({ op, result: 'error' });
    timed[op] = async (...args: unknown[]) => {
      const started = performance.now();
      try {
        // Looked up per call: failure injection replaces a backend's method after wrapping.
        const v = await (ledger[op] as (...a: unknown[]) => Promise<unknown>).apply(ledger, args);
        ok.observe((performance.now() - started) / 1000);
        return v;
      } catch (err) {
        failed.observe((performance.now() - started) / 1000);
        throw err;
      }
    };
  }
  // Anything else (close, extra methods of a backend) goes straight through.
  return new Proxy(ledger, {
    get: (target, prop, receiver) => (typeof prop === 'string' && prop in timed ? timed[prop] : Reflect.get(target, prop, receiver)),
  });
}

export async function metricsRoute(app: FastifyInstance, opts: { metrics: Metrics }) {
  app.get('/metrics', async (_req, reply) => reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics()));
}
