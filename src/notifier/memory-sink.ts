// A bounded in-memory store of received CloudEvents: `executor dev`'s
// notification sink (GET /v1/notifications) and a receiver for tests. Oldest
// events are dropped first when full.
import type { CloudEvent } from '../schemas/index.ts';

export interface NotificationSink {
  add(event: CloudEvent): void;
  /** Oldest first. `id` matches the lineage id (subject) or the event id; `type` the full event type. */
  list(filter?: { id?: string; type?: string }): CloudEvent[];
  clear(): void;
  readonly size: number;
}

export function createNotificationSink(opts: { max?: number; onEvent?: (event: CloudEvent) => void } = {}): NotificationSink {
  const max = opts.max ?? 1000;
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${max}`);
  let events: CloudEvent[] = [];
  return {
    add(event) {
      events.push(event);
      if (events.length > max) events.splice(0, events.length - max);
      opts.onEvent?.(event);
    },
    list(filter = {}) {
      return events.filter(
        (e) =>
          (filter.id === undefined || e.subject === filter.id || e.id === filter.id || e.data?.id === filter.id) &&
          (filter.type === undefined || e.type === filter.type),
      );
    },
    clear() {
      events = [];
    },
    get size() {
      return events.length;
    },
  };
}
