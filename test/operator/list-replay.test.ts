// GET /v1/tasks and POST /v1/tasks/:id:replay end to end on `executor dev`:
// real emulator pushes, the SDK's OperatorClient as the caller.

import { fileURLToPath } from 'node:url';
import pino from 'pino';
import t from 'tap';
import { Executor, OperatorError } from '../../src/client/index.ts';
import { type DevStack, startDev } from '../../src/dev.ts';
import { freePort } from '../helpers/free-port.ts';
import { until } from '../helpers/until.ts';

const JOBS = fileURLToPath(new URL('../fixtures/tier-jobs.mjs', import.meta.url));
const FAST = { minBackoff: '0.1s', maxBackoff: '0.2s', maxDoublings: 1, maxRetryDuration: '0s' };

async function stack(t: { teardown(fn: () => unknown): void }): Promise<{ s: DevStack; exe: Executor }> {
  const s = await startDev(
    {
      PORT: String(await freePort()),
      EMULATOR_PORT: String(await freePort()),
      HOST: '127.0.0.1',
      CHAIN: 'incoming:1,incoming-2:1',
      NOTIFY_ON: 'all',
      JOBS_MODULE: JOBS,
      EXEC_COMMANDS: 'sleep',
    },
    pino({ level: 'silent' }),
    { retry: FAST },
  );
  const exe = new Executor({ project: s.config.project, location: s.config.location, serviceUrl: s.server.url, emulatorHost: `127.0.0.1:${s.emulator.port}` });
  t.teardown(async () => {
    await exe.close();
    await s.stop();
  });
  return { s, exe };
}

const ended = (exe: Executor, id: string) =>
  until(`${id} to end`, async () => {
    const r = await exe.operator.status(id);
    return r && ['succeeded', 'failed', 'cancelled'].includes(r.state) ? r : undefined;
  });

t.test('list shows every run newest first, pages through them and filters by state, type and queue', async (t) => {
  const { exe } = await stack(t);
  const ids = ['run-a', 'run-b', 'run-c', 'run-d'];
  for (const id of ids) {
    await exe.enqueue({ id, type: id === 'run-c' ? 'tiered' : 'echo', data: { n: id } });
    await ended(exe, id); // one after the other, so createdAt orders them
  }
  const page1 = await exe.operator.list({ pageSize: 3 });
  t.same(
    page1.tasks.map((x) => x.id),
    ['run-d', 'run-c', 'run-b'],
    'newest first',
  );
  t.ok(page1.nextPageToken, 'a token for the next page');
  const page2 = await exe.operator.list({ pageSize: 3, pageToken: page1.nextPageToken! });
  t.same(
    page2.tasks.map((x) => x.id),
    ['run-a'],
  );
  t.equal(page2.nextPageToken, undefined, 'the last page has no token');
  t.match(page1.tasks[1], { id: 'run-c', type: 'tiered', state: 'failed', tier: 1, queue: 'incoming-2', attempts: 2, error: { code: 'NotYet' } });
  t.same(
    (await exe.operator.list({ state: 'failed' })).tasks.map((x) => x.id),
    ['run-c'],
  );
  t.same(
    (await exe.operator.list({ type: 'echo' })).tasks.map((x) => x.id),
    ['run-d', 'run-b', 'run-a'],
  );
  t.same(
    (await exe.operator.list({ queue: 'incoming-2' })).tasks.map((x) => x.id),
    ['run-c'],
  );
  t.same((await exe.operator.list({ since: new Date(Date.now() + 60_000) })).tasks, [], 'nothing created in the future');

  const badToken = await exe.operator.list({ pageToken: 'garbage' }).catch((e: unknown) => e);
  t.ok(badToken instanceof OperatorError && badToken.status === 400, 'a foreign page token is a 400');
  t.match((badToken as Error).message, /pageToken/);
  const badSince = await exe.operator.list({ since: 'yesterday' }).catch((e: unknown) => e);
  t.ok(badSince instanceof OperatorError && badSince.status === 400, 'a bad since is a 400');
  const badState = await exe.operator.list({ state: 'sleeping' as never }).catch((e: unknown) => e);
  t.ok(badState instanceof OperatorError && badState.status === 400, 'an unknown state is a 400');
});

t.test('replay starts a finished lineage again as a new lineage linked by replayOf', async (t) => {
  const { exe } = await stack(t);
  await exe.enqueue({ id: 'orig', type: 'echo', args: { a: 1 }, data: { hello: 'again' } });
  const first = await ended(exe, 'orig');
  t.equal(first.replayable, true, 'status says it can be replayed');
  t.notOk('source' in first, 'the kept payload is not shown by status');
  const replay = await exe.operator.replay('orig');
  t.equal(replay.replayOf, 'orig');
  t.match(replay.id, /^orig-replay-[0-9a-f]+$/);
  t.equal(replay.queue, 'incoming');
  const second = await ended(exe, replay.id);
  t.equal(second.state, 'succeeded');
  t.equal(second.replayOf, 'orig');
  t.same(second.result, first.result, 'the same data ran again');
  const listed = (await exe.operator.list()).tasks.find((x) => x.id === replay.id);
  t.equal(listed?.replayOf, 'orig', 'the list shows the link');
  const again = await exe.operator.replay(replay.id);
  t.equal(again.replayOf, replay.id, 'a replay can be replayed');

  const unknown = await exe.operator.replay('nope').catch((e: unknown) => e);
  t.ok(unknown instanceof OperatorError && unknown.status === 404);
});

t.test('replay refuses a lineage that has not ended and one whose payload was too large to keep', async (t) => {
  const { exe } = await stack(t);
  await exe.enqueue({ id: 'busy', type: 'exec', args: { command: 'sleep', args: ['60'] } });
  await until('busy to run', async () => ((await exe.operator.status('busy'))?.state === 'running' ? true : undefined));
  t.teardown(() => exe.operator.cancel('busy').catch(() => {}));
  const busy = await exe.operator.replay('busy').catch((e: unknown) => e);
  t.ok(busy instanceof OperatorError && busy.status === 409 && busy.code === 'NotEnded', 'a running lineage is not replayed');
  await exe.enqueue({ id: 'big', type: 'echo', data: { blob: 'x'.repeat(70 * 1024) } });
  const big = await ended(exe, 'big');
  t.equal(big.replayable, false);
  const refused = await exe.operator.replay('big').catch((e: unknown) => e);
  t.ok(refused instanceof OperatorError && refused.status === 409 && refused.code === 'NotReplayable');
  t.match((refused as Error).message, /enqueue it again/);
});

t.test('a task waiting in its queue shows as scheduled; cancelling it records it cancelled', async (t) => {
  const { exe } = await stack(t);
  const later = new Date(Date.now() + 10 * 60_000);
  await exe.enqueue({ id: 'later-1', type: 'echo', data: { x: 1 }, scheduleTime: later });
  const scheduled = await exe.operator.status('later-1');
  t.match(scheduled, { id: 'later-1', state: 'scheduled', type: 'echo', tier: 0, queue: 'incoming', attempts: {} });
  t.ok(Math.abs(Date.parse(scheduled!.scheduleTime!) - later.getTime()) < 1000, 'when it will run');
  const cancelled = await exe.operator.cancel('later-1');
  t.same(cancelled, { id: 'later-1', state: 'cancelled', deleted: ['incoming/later-1'] });
  t.match(await exe.operator.status('later-1'), { state: 'cancelled', type: 'echo', attempts: {}, history: [] });
  t.equal((await exe.operator.list({ state: 'cancelled' })).tasks[0]?.id, 'later-1', 'the list shows it');
  t.equal(await exe.operator.status('never-enqueued'), undefined, 'an unknown id is still unknown');
});
