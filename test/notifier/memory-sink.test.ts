import t from 'tap';
import { buildCloudEvent } from '../../src/notifier/cloud-event.ts';
import { createNotificationSink } from '../../src/notifier/memory-sink.ts';
import { EVENT_TYPES, type EventKind } from '../../src/schemas/index.ts';

const event = (id: string, kind: EventKind) =>
  buildCloudEvent({
    kind,
    source: 's',
    time: new Date(0),
    data: { id, type: 'echo', queue: 'q', tier: 0, attempt: 1, maxAttempts: 3, state: kind, startedAt: 'a', finishedAt: 'b' },
  });

t.test('the sink lists events filtered by lineage id and by type', async (t) => {
  const sink = createNotificationSink();
  sink.add(event('a', 'succeeded'));
  sink.add(event('b', 'failed'));
  sink.add(event('a', 'forwarded'));
  t.equal(sink.list().length, 3);
  t.same(
    sink.list({ id: 'a' }).map((e) => e.id),
    ['a/succeeded', 'a/forwarded-0'],
  );
  t.same(
    sink.list({ type: EVENT_TYPES.failed }).map((e) => e.id),
    ['b/failed'],
  );
  t.same(
    sink.list({ id: 'b/failed' }).map((e) => e.id),
    ['b/failed'],
    'an event id matches too',
  );
  t.equal(sink.list({ id: 'a', type: EVENT_TYPES.failed }).length, 0);
});

t.test('the sink keeps only the newest `max` events', async (t) => {
  const sink = createNotificationSink({ max: 2 });
  sink.add(event('1', 'failed'));
  sink.add(event('2', 'failed'));
  sink.add(event('3', 'failed'));
  t.same(
    sink.list().map((e) => e.subject),
    ['2', '3'],
  );
  t.equal(sink.size, 2);
});

t.test('the sink calls onEvent for each event and clear() empties it', async (t) => {
  const seen: string[] = [];
  const sink = createNotificationSink({ onEvent: (e) => seen.push(e.id) });
  sink.add(event('x', 'succeeded'));
  t.same(seen, ['x/succeeded']);
  sink.clear();
  t.equal(sink.list().length, 0);
});

t.test('a max below 1 is refused', async (t) => {
  t.throws(() => createNotificationSink({ max: 0 }), RangeError);
});
