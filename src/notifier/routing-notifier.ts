// Chooses each event's destinations: the Pub/Sub topic (envelope's
// notify.topic, else NOTIFY_TOPIC) and the notifier queue (to notify.url, else
// NOTIFY_URL). With neither, the event goes to the log, so nothing is silent.
// Every event is also logged (ids and state only, never the result).
import type { Notifier, NotifyTarget } from '../interfaces.ts';
import type { CloudEvent } from '../schemas/index.ts';

export function createRoutingNotifier(opts: { queue?: Notifier; pubsub?: Notifier; defaultUrl?: string; defaultTopic?: string; log: Notifier }): Notifier {
  return {
    async send(event: CloudEvent, target: NotifyTarget) {
      const topic = target.topic ?? opts.defaultTopic;
      const url = target.url ?? opts.defaultUrl;
      const sends: Promise<void>[] = [opts.log.send(event, target)];
      if (topic) {
        if (!opts.pubsub) throw new Error(`notification for topic ${topic}, but Pub/Sub notifications are off (set NOTIFY_TOPIC)`);
        sends.push(opts.pubsub.send(event, { topic }));
      }
      if (url && opts.queue) sends.push(opts.queue.send(event, { url }));
      const results = await Promise.allSettled(sends);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    async close() {},
  };
}
