// Test helper: a Notifier that records what it was sent, optionally failing.
import type { Notifier, NotifyTarget } from '../../src/interfaces.ts';
import type { CloudEvent } from '../../src/schemas/index.ts';

export interface RecordingNotifier extends Notifier {
  sent: Array<{ event: CloudEvent; target: NotifyTarget }>;
  closed: number;
}

export function recordingNotifier(fail?: Error): RecordingNotifier {
  const r: RecordingNotifier = {
    sent: [],
    closed: 0,
    async send(event, target) {
      r.sent.push({ event, target });
      if (fail) throw fail;
    },
    async close() {
      r.closed++;
    },
  };
  return r;
}
