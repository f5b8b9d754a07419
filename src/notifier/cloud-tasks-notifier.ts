// Notifications through the notifier Cloud Tasks queue (NOTIFY_QUEUE): one
// task per event, pushing the structured CloudEvent to the submitter's URL, so
// Cloud Tasks retries the callback for us. The task name is derived from the
// event id, so re-sending the same event (a retried delivery, a redrive) hits
// ALREADY_EXISTS and counts as done instead of notifying twice.
import type { Notifier, TaskQueue } from '../interfaces.ts';
import { taskIdFor } from '../queues/tier-names.ts';

export const CLOUDEVENTS_JSON = 'application/cloudevents+json';

export interface CloudTasksNotifierOptions {
  queue: TaskQueue;
  /** NOTIFY_QUEUE: the notifier queue's id. */
  queueName: string;
  /** NOTIFY_URL: used when the envelope names no notify.url. */
  defaultUrl?: string;
  /** INVOKER_SERVICE_ACCOUNT: pushes carry an OIDC token for it (audience = the URL). */
  serviceAccountEmail?: string;
}

/** The notifier queue's task id for an event id (`<lineage>/<event>` has a '/', which task ids refuse). */
export function notificationTaskName(eventId: string): string {
  return taskIdFor(eventId);
}

export function createCloudTasksNotifier(opts: CloudTasksNotifierOptions): Notifier {
  return {
    async send(event, target) {
      const url = target.url ?? opts.defaultUrl;
      if (!url) {
        throw new Error(`notification ${event.id}: no callback URL (the envelope has no notify.url and NOTIFY_URL is not set)`);
      }
      await opts.queue.createTask({
        queue: opts.queueName,
        taskName: notificationTaskName(event.id),
        url,
        body: Buffer.from(JSON.stringify(event)),
        headers: { 'Content-Type': CLOUDEVENTS_JSON },
        ...(opts.serviceAccountEmail ? { oidc: { serviceAccountEmail: opts.serviceAccountEmail, audience: url } } : {}),
      });
    },
    // The queue is shared with the forwarder and closed by its owner.
    async close() {},
  };
}
