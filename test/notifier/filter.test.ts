import t from 'tap';
import { buildCloudEvent } from '../../src/notifier/cloud-event.ts';
import { fanoutNotifier, filterNotifier } from '../../src/notifier/filter.ts';
import type { EventKind } from '../../src/schemas/index.ts';
import { recordingNotifier } from './recording-notifier.ts';

const event = (kind: EventKind) =>
  buildCloudEvent({
    kind,
    source: 's',
    time: new Date(0),
    data: { id: 'l', type: 'echo', queue: 'q', tier: 0, attempt: 1, maxAttempts: 3, state: kind, startedAt: 'a', finishedAt: 'b' },
  });

t.test('filterNotifier passes only the kinds in NOTIFY_ON', async (t) => {
  const inner = recordingNotifier();
  const n = filterNotifier(inner, new Set<EventKind>(['failed', 'forwarded']));
  await n.send(event('succeeded'), {});
  await n.send(event('failed'), { url: 'http://x' });
  await n.send(event('forwarded'), {});
  t.same(
    inner.sent.map((s) => s.event.id),
    ['l/failed', 'l/forwarded-0'],
  );
  t.same(inner.sent[0]!.target, { url: 'http://x' });
  await n.close();
  t.equal(inner.closed, 1);
});

t.test('filterNotifier drops events of an unknown type', async (t) => {
  const inner = recordingNotifier();
  const n = filterNotifier(inner, new Set<EventKind>(['succeeded', 'failed', 'forwarded']));
  await n.send({ ...event('failed'), type: 'other.type' }, {});
  t.equal(inner.sent.length, 0);
});

t.test('fanoutNotifier sends to every notifier', async (t) => {
  const a = recordingNotifier();
  const b = recordingNotifier();
  await fanoutNotifier([a, b]).send(event('failed'), { topic: 'projects/p/topics/t' });
  t.equal(a.sent.length, 1);
  t.equal(b.sent.length, 1);
  t.same(b.sent[0]!.target, { topic: 'projects/p/topics/t' });
});

t.test('fanoutNotifier tries all notifiers, then throws when one failed', async (t) => {
  const a = recordingNotifier(new Error('queue down'));
  const b = recordingNotifier();
  await t.rejects(fanoutNotifier([a, b]).send(event('failed'), {}), { message: 'queue down' });
  t.equal(b.sent.length, 1, 'the second notifier still got the event');
});

t.test('fanoutNotifier reports every failure when several fail', async (t) => {
  const a = recordingNotifier(new Error('one'));
  const b = recordingNotifier(new Error('two'));
  const err = await fanoutNotifier([a, b])
    .send(event('failed'), {})
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  t.ok(err instanceof AggregateError);
  t.match((err as Error).message, /one.*two/);
});

t.test('fanoutNotifier closes every notifier', async (t) => {
  const a = recordingNotifier();
  const b = recordingNotifier();
  await fanoutNotifier([a, b]).close();
  t.same([a.closed, b.closed], [1, 1]);
});
