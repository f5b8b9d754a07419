// Notifications to the log: the destination when no queue or topic is set,
// and a trace of every event otherwise. Ids, type, state and error code only;
// never the job's result or the error message (it may quote the payload).
import type { Logger } from 'pino';
import type { Notifier } from '../interfaces.ts';

export function createLogNotifier(logger: Logger): Notifier {
  return {
    async send(event, target) {
      logger.info(
        {
          event: event.id,
          type: event.type,
          lineage: event.subject,
          queue: event.data?.queue,
          tier: event.data?.tier,
          attempt: event.data?.attempt,
          state: event.data?.state,
          ...(event.data?.error ? { errorCode: event.data.error.code, permanent: event.data.error.permanent } : {}),
          ...(target.url ? { notifyUrl: target.url } : {}),
          ...(target.topic ? { notifyTopic: target.topic } : {}),
        },
        'notification',
      );
    },
    async close() {},
  };
}
