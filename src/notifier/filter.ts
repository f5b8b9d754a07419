// Notifier combinators: NOTIFY_ON filtering and fan-out to several
// destinations.
import type { Notifier } from '../interfaces.ts';
import type { EventKind } from '../schemas/index.ts';
import { eventKind } from './cloud-event.ts';

/** Passes on only events whose kind is in `on` (NOTIFY_ON); others are dropped silently. */
export function filterNotifier(inner: Notifier, on: ReadonlySet<EventKind>): Notifier {
  return {
    async send(event, target) {
      const kind = eventKind(event.type);
      if (kind === undefined || !on.has(kind)) return;
      await inner.send(event, target);
    },
    close: () => inner.close(),
  };
}

/**
 * Sends each event to every notifier (each picks its own destination from the
 * target and its config). All are tried; if any fails, the first error is
 * thrown afterwards (AggregateError when several fail) so the caller
 * dead-letters the event. Receivers drop duplicates by event id.
 */
export function fanoutNotifier(notifiers: readonly Notifier[]): Notifier {
  return {
    async send(event, target) {
      const results = await Promise.allSettled(notifiers.map((n) => n.send(event, target)));
      const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1)
        throw new AggregateError(errors, `${errors.length} of ${notifiers.length} notifiers failed: ${errors.map((e) => (e as Error)?.message).join('; ')}`);
    },
    async close() {
      const results = await Promise.allSettled(notifiers.map((n) => n.close()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
