import { TypeCompiler } from '@sinclair/typebox/compiler';
import t from 'tap';
import { buildCloudEvent, eventKind } from '../../src/notifier/cloud-event.ts';
import { CloudEventSchema, EVENT_TYPES, type NotificationData } from '../../src/schemas/index.ts';

const check = TypeCompiler.Compile(CloudEventSchema);
const data: NotificationData = {
  id: 'lin-1',
  type: 'echo',
  queue: 'incoming',
  tier: 0,
  attempt: 3,
  maxAttempts: 3,
  state: 'failed',
  error: { code: 'Boom', message: 'boom', permanent: false },
  startedAt: '2024-01-01T00:00:00.000Z',
  finishedAt: '2024-01-01T00:00:05.000Z',
};

t.test('a failed event has id <lineage>/failed, subject = lineage, and matches the schema', async (t) => {
  const e = buildCloudEvent({ kind: 'failed', source: '//executor/test', time: new Date('2024-01-01T00:00:05Z'), data });
  t.equal(e.id, 'lin-1/failed');
  t.equal(e.subject, 'lin-1');
  t.equal(e.type, EVENT_TYPES.failed);
  t.equal(e.specversion, '1.0');
  t.equal(e.datacontenttype, 'application/json');
  t.equal(e.time, '2024-01-01T00:00:05.000Z');
  t.same(e.data, data);
  t.ok(check.Check(e), [...check.Errors(e)].map((x) => x.message).join(', '));
});

t.test('each forwarding hop has its own stable id', async (t) => {
  const time = new Date();
  const a = buildCloudEvent({ kind: 'forwarded', source: 's', time, data: { ...data, tier: 0 } });
  const b = buildCloudEvent({ kind: 'forwarded', source: 's', time, data: { ...data, tier: 1 } });
  t.equal(a.id, 'lin-1/forwarded-0');
  t.equal(b.id, 'lin-1/forwarded-1');
  t.equal(a.type, EVENT_TYPES.forwarded);
});

t.test('eventKind maps full event types back to their kind', async (t) => {
  t.equal(eventKind(EVENT_TYPES.succeeded), 'succeeded');
  t.equal(eventKind('something.else'), undefined);
});
