// Builds the CloudEvents 1.0 notification (DESIGN §2). The id is stable per
// lineage and event so receivers (and the notifier queue's task names) can
// drop duplicates; each forwarding hop gets its own id.

import { boundEvent } from '../limits.ts';
import { type CloudEvent, EVENT_TYPES, type EventKind, type NotificationData } from '../schemas/index.ts';

export function cloudEventId(kind: EventKind, data: Pick<NotificationData, 'id' | 'tier'>): string {
  return kind === 'forwarded' ? `${data.id}/forwarded-${data.tier}` : `${data.id}/${kind}`;
}

export function buildCloudEvent(opts: { kind: EventKind; source: string; time: Date; data: NotificationData }): CloudEvent {
  // Texts and results come from input and jobs: kept under MAX_RECORD_BYTES.
  return boundEvent({
    specversion: '1.0',
    id: cloudEventId(opts.kind, opts.data),
    source: opts.source,
    type: EVENT_TYPES[opts.kind],
    time: opts.time.toISOString(),
    subject: opts.data.id,
    datacontenttype: 'application/json',
    data: opts.data,
  });
}

/** `succeeded` | `failed` | `forwarded` from an event type, undefined if not ours. */
export function eventKind(type: string): EventKind | undefined {
  for (const [kind, t] of Object.entries(EVENT_TYPES)) if (t === type) return kind as EventKind;
  return undefined;
}
