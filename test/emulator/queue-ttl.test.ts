// v2beta3's taskTtl and tombstoneTtl, applied as Cloud Tasks documents them
// (queue.proto): a task is deleted once it has lived for taskTtl, dispatched or
// not (default 31 days, 10 days to 10 years); a deleted or executed task's name
// cannot be reused for tombstoneTtl (default 1 hour, 1 hour to 9 days).
// Through the official client; time moves with a ManualClock, nothing sleeps.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v2, v2beta3 } from '@google-cloud/tasks';
import { PassThroughClient } from 'google-auth-library';
import t, { type Test } from 'tap';
import { ManualClock } from '../../src/emulator/clock.ts';
import { startEmulator } from '../../src/emulator/index.ts';
import { PARENT, startTarget } from './helpers.ts';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

async function setup(t: Test, statePath?: string, clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000)) {
  const emu = await startEmulator({ clock, logger: false, ...(statePath ? { statePath } : {}) });
  const target = await startTarget();
  const opts = { fallback: true, apiEndpoint: '127.0.0.1', port: emu.port, protocol: 'http', auth: new PassThroughClient() } as never;
  const c2 = new v2.CloudTasksClient(opts);
  const c3 = new v2beta3.CloudTasksClient(opts);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await c2.close();
    await c3.close();
    await emu.close();
    await target.close();
  };
  t.teardown(close);
  /** Move emulator time and let what fell due settle. */
  const advance = async (ms: number) => {
    clock.advance(ms);
    await emu.idle();
  };
  return { clock, emu, target, c2, c3, advance, close };
}

t.test('tombstoneTtl: a deleted task name is taken for the queue tombstoneTtl, not a fixed hour', async (t) => {
  const { c3, advance } = await setup(t);
  const queue = `${PARENT}/queues/tomb2h`;
  const [q] = await c3.createQueue({ parent: PARENT, queue: { name: queue, tombstoneTtl: { seconds: 2 * 3600 } } });
  t.equal(Number(q.tombstoneTtl?.seconds), 7200);
  await c3.pauseQueue({ name: queue });
  const name = `${queue}/tasks/once`;
  await c3.createTask({ parent: queue, task: { name, httpRequest: { url: 'http://127.0.0.1:9/x' } } });
  await c3.deleteTask({ name });
  await t.rejects(c3.createTask({ parent: queue, task: { name, httpRequest: { url: 'http://127.0.0.1:9/x' } } }), { code: ALREADY_EXISTS });
  await advance(2 * HOUR - 1000);
  await t.rejects(
    c3.createTask({ parent: queue, task: { name, httpRequest: { url: 'http://127.0.0.1:9/x' } } }),
    { code: ALREADY_EXISTS },
    'still taken after 1 h 59 min 59 s',
  );
  await advance(1000);
  const [again] = await c3.createTask({ parent: queue, task: { name, httpRequest: { url: 'http://127.0.0.1:9/x' } } });
  t.equal(again.name, name, 'free after 2 h');
});

t.test('tombstoneTtl applies to an executed task too; a queue that sets none keeps the 1 hour default', async (t) => {
  const { c2, c3, target, advance } = await setup(t);
  const long = `${PARENT}/queues/tomb9d`;
  await c3.createQueue({ parent: PARENT, queue: { name: long, tombstoneTtl: { seconds: 9 * 86400 } } });
  const plain = `${PARENT}/queues/plain`;
  await c2.createQueue({ parent: PARENT, queue: { name: plain } });
  for (const queue of [long, plain]) {
    await c2.createTask({ parent: queue, task: { name: `${queue}/tasks/ran`, httpRequest: { url: `${target.url}/ok` } } });
  }
  await advance(0);
  t.equal(target.pushes.length, 2, 'both tasks executed');
  await advance(HOUR);
  const [reused] = await c2.createTask({ parent: plain, task: { name: `${plain}/tasks/ran`, httpRequest: { url: `${target.url}/ok` } } });
  t.ok(reused.name, 'the default queue frees the name after 1 h');
  await t.rejects(c2.createTask({ parent: long, task: { name: `${long}/tasks/ran`, httpRequest: { url: `${target.url}/ok` } } }), { code: ALREADY_EXISTS });
  await advance(9 * DAY - HOUR - 1000);
  await t.rejects(
    c2.createTask({ parent: long, task: { name: `${long}/tasks/ran`, httpRequest: { url: `${target.url}/ok` } } }),
    { code: ALREADY_EXISTS },
    'taken until 9 days after it ran',
  );
  await advance(1000);
  t.ok((await c2.createTask({ parent: long, task: { name: `${long}/tasks/ran`, httpRequest: { url: `${target.url}/ok` } } }))[0].name);
});

t.test('taskTtl: a task is deleted once it has lived for the queue taskTtl, and its name is tombstoned from then', async (t) => {
  const { c3, advance } = await setup(t);
  const queue = `${PARENT}/queues/ttl10d`;
  const [q] = await c3.createQueue({ parent: PARENT, queue: { name: queue, taskTtl: { seconds: 10 * 86400 } } });
  t.equal(Number(q.taskTtl?.seconds), 864000);
  await c3.pauseQueue({ name: queue });
  const name = `${queue}/tasks/old`;
  await c3.createTask({ parent: queue, task: { name, httpRequest: { url: 'http://127.0.0.1:9/x' } } });
  await advance(10 * DAY - 1000);
  t.equal((await c3.getTask({ name }))[0].name, name, 'alive just before its TTL');
  await advance(1000);
  await t.rejects(c3.getTask({ name }), { code: NOT_FOUND }, 'deleted at its TTL although never dispatched');
  t.same((await c3.listTasks({ parent: queue }))[0], [], 'not listed');
  await t.rejects(c3.createTask({ parent: queue, task: { name, httpRequest: { url: 'http://127.0.0.1:9/x' } } }), { code: ALREADY_EXISTS }, 'tombstoned');
  await advance(HOUR);
  t.ok((await c3.createTask({ parent: queue, task: { name, httpRequest: { url: 'http://127.0.0.1:9/x' } } }))[0].name, 'free 1 h after it expired');
});

t.test('taskTtl: a task scheduled past its TTL is never pushed; with the 31-day default one scheduled 30 days ahead is', async (t) => {
  const { clock, c3, target, advance } = await setup(t);
  const short = `${PARENT}/queues/ttl-short`;
  await c3.createQueue({ parent: PARENT, queue: { name: short, taskTtl: { seconds: 10 * 86400 } } });
  const plain = `${PARENT}/queues/ttl-default`;
  await c3.createQueue({ parent: PARENT, queue: { name: plain } });
  const at = (days: number) => ({ seconds: Math.floor((clock.now() + days * DAY) / 1000) });
  await c3.createTask({ parent: short, task: { name: `${short}/tasks/late`, scheduleTime: at(11), httpRequest: { url: `${target.url}/late` } } });
  await c3.createTask({ parent: plain, task: { name: `${plain}/tasks/month`, scheduleTime: at(30), httpRequest: { url: `${target.url}/month` } } });
  await advance(12 * DAY);
  t.same(
    target.pushes.map((p) => p.url),
    [],
    'the 11-day task expired at 10 days, unpushed',
  );
  await t.rejects(c3.getTask({ name: `${short}/tasks/late` }), { code: NOT_FOUND });
  await advance(18 * DAY);
  t.same(
    target.pushes.map((p) => p.url),
    ['/month'],
    'the default TTL (31 days) outlives the furthest schedule (30 days)',
  );
});

t.test('taskTtl and tombstoneTtl outside Cloud Tasks bounds are INVALID_ARGUMENT; an update applies to the tasks already queued', async (t) => {
  const { c3, advance } = await setup(t);
  for (const [field, seconds] of [
    ['taskTtl', 86400],
    ['taskTtl', 3651 * 86400],
    ['tombstoneTtl', 60],
    ['tombstoneTtl', 10 * 86400],
  ] as const) {
    await t.rejects(
      c3.createQueue({ parent: PARENT, queue: { name: `${PARENT}/queues/bad-${seconds}`, [field]: { seconds } } }),
      { code: INVALID_ARGUMENT, message: /must be from/ },
      `${field} ${seconds}s`,
    );
  }
  const queue = `${PARENT}/queues/updated`;
  await c3.createQueue({ parent: PARENT, queue: { name: queue } });
  await c3.pauseQueue({ name: queue });
  await c3.createTask({ parent: queue, task: { name: `${queue}/tasks/t1`, httpRequest: { url: 'http://127.0.0.1:9/x' } } });
  await advance(15 * DAY);
  t.ok((await c3.getTask({ name: `${queue}/tasks/t1` }))[0].name, 'alive at 15 days under the 31-day default');
  await c3.updateQueue({ queue: { name: queue, taskTtl: { seconds: 14 * 86400 } }, updateMask: { paths: ['task_ttl'] } });
  await t.rejects(c3.getTask({ name: `${queue}/tasks/t1` }), { code: NOT_FOUND }, 'a 14-day TTL ends a 15-day-old task');
});

t.test('EMULATOR_STATE: a task that passed its TTL while the emulator was stopped is gone after the restart, its name tombstoned', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'emu-ttl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const statePath = join(dir, 'state.json');
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  const first = await setup(t, statePath, clock);
  const queue = `${PARENT}/queues/kept`;
  await first.c3.createQueue({ parent: PARENT, queue: { name: queue, taskTtl: { seconds: 10 * 86400 } } });
  await first.c3.pauseQueue({ name: queue });
  await first.c3.createTask({ parent: queue, task: { name: `${queue}/tasks/sleeper`, httpRequest: { url: 'http://127.0.0.1:9/x' } } });
  await first.close();
  clock.advance(10 * DAY + 30 * 60 * 1000);
  const second = await setup(t, statePath, clock);
  await t.rejects(second.c3.getTask({ name: `${queue}/tasks/sleeper` }), { code: NOT_FOUND });
  await t.rejects(
    second.c3.createTask({ parent: queue, task: { name: `${queue}/tasks/sleeper`, httpRequest: { url: 'http://127.0.0.1:9/x' } } }),
    { code: ALREADY_EXISTS },
    'tombstoned from its expiry: 30 min ago, for 1 h',
  );
});
