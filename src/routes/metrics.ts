// GET /metrics: Prometheus text of delivery outcomes and running jobs. Counters
// live in this process only; Cloud Monitoring scrapes each instance.
import type { FastifyInstance } from 'fastify';

export class Metrics {
  readonly #outcomes = new Map<string, number>();
  count(outcome: string): void {
    this.#outcomes.set(outcome, (this.#outcomes.get(outcome) ?? 0) + 1);
  }
  get(outcome: string): number {
    return this.#outcomes.get(outcome) ?? 0;
  }
  render(running: number): string {
    const lines = [
      '# HELP executor_deliveries_total Deliveries by outcome.',
      '# TYPE executor_deliveries_total counter',
      ...[...this.#outcomes].map(([k, v]) => `executor_deliveries_total{outcome="${k}"} ${v}`),
      '# HELP executor_jobs_running Jobs running in this process.',
      '# TYPE executor_jobs_running gauge',
      `executor_jobs_running ${running}`,
    ];
    return lines.join('\n') + '\n';
  }
}

export async function metricsRoute(app: FastifyInstance, opts: { metrics: Metrics; running: () => number }) {
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(opts.metrics.render(opts.running())));
}
