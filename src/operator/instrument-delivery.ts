// Counts and times every delivery for /metrics without touching the decision
// code: a wrapper around Delivery.deliver. The job type label is read from the
// body's first 8 KiB (envelopes put `type` near the top); "unknown" otherwise.

import type { Delivery } from '../delivery/deliver.ts';
import type { Tier } from '../interfaces.ts';
import type { Metrics } from '../routes/metrics.ts';

const TYPE = /"type"\s*:\s*"([A-Za-z0-9_.:-]{1,100})"/;

/** Distinct job types labelled before the rest count as "other": labels come from input. */
const MAX_TYPES = 100;

export function instrumentDelivery(delivery: Delivery, metrics: Metrics, chain: Tier[]): Delivery {
  const queues = new Set(chain.map((t) => t.queue));
  const types = new Set<string>();
  const typeLabel = (body: Buffer | undefined): string => {
    const type = TYPE.exec(body?.subarray(0, 8192).toString('utf8') ?? '')?.[1];
    if (type === undefined) return 'unknown';
    if (types.has(type)) return type;
    if (types.size >= MAX_TYPES) return 'other';
    types.add(type);
    return type;
  };
  // Children bound to their labels once: prom-client hashes a label object on every call otherwise.
  // Label values are bounded (outcomes, the chain's queues, tiers, MAX_TYPES types), so are these maps.
  const counters = new Map<string, ReturnType<Metrics['deliveries']['labels']>>();
  const durations = new Map<string, ReturnType<Metrics['deliveryDuration']['labels']>>();
  const latencies = new Map<string, ReturnType<Metrics['deliveryLatency']['labels']>>();
  const counter = (outcome: string, queue: string, tier: string, type: string) => {
    const key = `${outcome}\n${queue}\n${tier}\n${type}`;
    let c = counters.get(key);
    if (!c) counters.set(key, (c = metrics.deliveries.labels({ outcome, queue, tier, type })));
    return c;
  };
  const duration = (outcome: string, queue: string) => {
    const key = `${outcome}\n${queue}`;
    let h = durations.get(key);
    if (!h) durations.set(key, (h = metrics.deliveryDuration.labels({ outcome, queue })));
    return h;
  };
  const latency = (queue: string) => {
    let h = latencies.get(queue);
    if (!h) latencies.set(queue, (h = metrics.deliveryLatency.labels({ queue })));
    return h;
  };
  const deliver: Delivery['deliver'] = async (input) => {
    const started = performance.now();
    const queueHeader = input.push.queueName !== undefined ? (queues.has(input.push.queueName) ? input.push.queueName : 'other') : undefined;
    if (input.push.eta !== undefined) {
      const late = (Date.now() - input.push.eta) / 1000;
      if (late >= 0) latency(queueHeader ?? 'unknown').observe(late);
    }
    const outcome = await delivery.deliver(input);
    const queue = queueHeader ?? (outcome.tier !== undefined ? chain[outcome.tier]?.queue : undefined) ?? 'unknown';
    const type = typeLabel(input.body);
    const tier = String(outcome.tier ?? '');
    counter(outcome.outcome, queue, tier, type).inc();
    // Owed effects that failed for good: kept as dead letters, counted apart.
    if (outcome.deadLetters) counter('dead-letter', queue, tier, type).inc(outcome.deadLetters);
    duration(outcome.outcome, queue).observe((performance.now() - started) / 1000);
    return outcome;
  };
  // Everything but deliver passes straight through, whatever Delivery grows.
  return new Proxy(delivery, { get: (target, prop) => (prop === 'deliver' ? deliver : Reflect.get(target, prop, target)) });
}
