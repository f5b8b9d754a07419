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
  const deliver: Delivery['deliver'] = async (input) => {
    const started = performance.now();
    const queueHeader = input.push.queueName !== undefined ? (queues.has(input.push.queueName) ? input.push.queueName : 'other') : undefined;
    if (input.push.eta !== undefined) {
      const late = (Date.now() - input.push.eta) / 1000;
      if (late >= 0) metrics.deliveryLatency.observe({ queue: queueHeader ?? 'unknown' }, late);
    }
    const outcome = await delivery.deliver(input);
    const queue = queueHeader ?? (outcome.tier !== undefined ? chain[outcome.tier]?.queue : undefined) ?? 'unknown';
    const type = typeLabel(input.body);
    metrics.deliveries.inc({ outcome: outcome.outcome, queue, tier: String(outcome.tier ?? ''), type });
    // Owed effects that failed for good: kept as dead letters, counted apart.
    if (outcome.deadLetters) metrics.deliveries.inc({ outcome: 'dead-letter', queue, tier: String(outcome.tier ?? ''), type }, outcome.deadLetters);
    metrics.deliveryDuration.observe({ outcome: outcome.outcome, queue }, (performance.now() - started) / 1000);
    return outcome;
  };
  // Everything but deliver passes straight through, whatever Delivery grows.
  return new Proxy(delivery, { get: (target, prop) => (prop === 'deliver' ? deliver : Reflect.get(target, prop, target)) });
}
