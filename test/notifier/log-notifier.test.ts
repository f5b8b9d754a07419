import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { buildCloudEvent } from '../../src/notifier/cloud-event.ts';
import { createLogNotifier } from '../../src/notifier/log-notifier.ts';

t.test('the log notifier logs ids, type, state and error code but never the result or error message', async (t) => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const n = createLogNotifier(pino({ level: 'info' }, stream));
  const event = buildCloudEvent({
    kind: 'failed',
    source: 's',
    time: new Date(0),
    data: {
      id: 'lin-9',
      type: 'echo',
      queue: 'incoming',
      tier: 1,
      attempt: 3,
      maxAttempts: 3,
      state: 'failed',
      error: { code: 'HttpStatus', message: 'secret-in-message', permanent: true },
      result: { secret: 'payload-secret' },
      startedAt: 'a',
      finishedAt: 'b',
    },
  });
  await n.send(event, {});
  t.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!);
  t.equal(line.level, 30);
  t.equal(line.event, 'lin-9/failed');
  t.equal(line.lineage, 'lin-9');
  t.equal(line.state, 'failed');
  t.equal(line.errorCode, 'HttpStatus');
  t.notMatch(lines[0]!, /payload-secret/);
  t.notMatch(lines[0]!, /secret-in-message/);
});
