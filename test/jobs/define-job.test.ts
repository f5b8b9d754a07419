import { Type } from '@sinclair/typebox';
import t from 'tap';
import { ABORT_RUN, defineJob } from '../../src/jobs/define-job.ts';
import { ArgNotSet, DataNotSet, InvalidTask, PermanentError, WrongArgType, WrongDataType } from '../../src/jobs/errors.ts';
import { jobContext } from './context.ts';

const greet = defineJob({
  type: 'greet',
  args: Type.Object({
    name: Type.String(),
    times: Type.Integer({ minimum: 1, default: 1 }),
    tags: Type.Optional(Type.Array(Type.String())),
    mode: Type.Optional(Type.Union([Type.Literal('loud'), Type.Literal('quiet')])),
  }),
  data: Type.Object({ greeting: Type.String() }),
  async run(args, data) {
    return Array.from({ length: args.times }, () => `${data.greeting} ${args.name}`).join(' ');
  },
});

t.test('a missing required argument throws ArgNotSet naming it, permanent', async (t) => {
  const job = greet.make();
  const err = t.throws(() => job.create({ times: 2 })) as ArgNotSet;
  t.type(err, ArgNotSet);
  t.equal(err.code, 'ArgNotSet');
  t.equal(err.arg, 'name');
  t.equal(err.permanent, true);
});

t.test('an argument of the wrong type throws WrongArgType naming it and the expected type', async (t) => {
  const job = greet.make();
  const err = t.throws(() => job.create({ name: 42 })) as WrongArgType;
  t.type(err, WrongArgType);
  t.equal(err.arg, 'name');
  t.equal(err.permanent, true);
  t.match(err.message, /"name" must be string, got number/);
  const nested = t.throws(() => job.create({ name: 'a', tags: ['x', 1] })) as WrongArgType;
  t.equal(nested.arg, 'tags.1');
  const union = t.throws(() => job.create({ name: 'a', mode: 'shout' })) as WrongArgType;
  t.match(union.message, /"loud" or "quiet"/);
  const constraint = t.throws(() => job.create({ name: 'a', times: 0 })) as WrongArgType;
  t.equal(constraint.code, 'WrongArgType');
  t.match(constraint.message, /greater or equal to 1/);
});

t.test('arguments that are not an object are WrongArgType on "args"', async (t) => {
  const err = t.throws(() => greet.make().deserialize(Buffer.from('[1,2]'))) as WrongArgType;
  t.type(err, WrongArgType);
  t.equal(err.arg, 'args');
  const noSchema = defineJob({ type: 'free', run: async (args) => args });
  t.throws(() => noSchema.make().create('x' as unknown as Record<string, unknown>), WrongArgType);
});

t.test('serialize then deserialize round-trips the arguments, defaults applied', async (t) => {
  const a = greet.make();
  a.create({ name: 'Ada' });
  const bytes = a.serialize();
  t.ok(Buffer.isBuffer(bytes));
  t.same(JSON.parse(bytes.toString()), { name: 'Ada', times: 1 });
  const b = greet.make();
  b.deserialize(bytes);
  t.same(JSON.parse(b.serialize().toString()), { name: 'Ada', times: 1 });
  const res = await b.run({ greeting: 'hi' }, jobContext());
  t.same(res, { state: 'succeeded', result: 'hi Ada' });
});

t.test('deserialize of bytes that are not JSON throws a permanent InvalidTask', async (t) => {
  const err = t.throws(() => greet.make().deserialize(Buffer.from('{nope'))) as InvalidTask;
  t.type(err, InvalidTask);
  t.equal(err.permanent, true);
});

t.test('deserialize validates like create', async (t) => {
  t.throws(() => greet.make().deserialize(Buffer.from('{}')), ArgNotSet);
});

t.test('bad data maps to DataNotSet and WrongDataType, permanent', async (t) => {
  const job = greet.make();
  job.create({ name: 'x' });
  await t.rejects(job.run(undefined, jobContext()), DataNotSet);
  await t.rejects(job.run({}, jobContext()), { code: 'DataNotSet', key: 'greeting', permanent: true });
  await t.rejects(job.run({ greeting: 3 }, jobContext()), WrongDataType);
  await t.rejects(job.run({ greeting: 3 }, jobContext()), { code: 'WrongDataType', key: 'greeting', permanent: true });
});

t.test('a plain return value is wrapped as succeeded; a JobResult passes through', async (t) => {
  const plain = defineJob({ type: 'plain', run: async () => ({ answer: 42 }) });
  t.same(await plain.make().run(null, jobContext()), { state: 'succeeded', result: { answer: 42 } });
  const nothing = defineJob({ type: 'nothing', run: async () => undefined });
  t.same(await nothing.make().run(null, jobContext()), { state: 'succeeded' });
  const failed = defineJob({ type: 'failed', run: async () => ({ state: 'failed', exit: 3 }) });
  const j = failed.make();
  t.same(await j.run(null, jobContext()), { state: 'failed', exit: 3 });
  t.match(j.status(), /^failed/);
});

t.test('a thrown job error propagates unchanged and status says failed', async (t) => {
  const boom = defineJob({
    type: 'boom',
    run: async () => {
      throw new PermanentError('no', { code: 'Nope' });
    },
  });
  const j = boom.make();
  await t.rejects(j.run(null, jobContext()), { code: 'Nope', permanent: true });
  t.equal(j.status(), 'failed (Nope)');
});

t.test('stop() aborts the signal run sees, and status() reports what run set', async (t) => {
  let seen: AbortSignal | undefined;
  const waiter = defineJob({
    type: 'waiter',
    async run(_a, _d, ctx) {
      seen = ctx.signal;
      ctx.setStatus(() => 'waiting for stop');
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      return 'stopped';
    },
  });
  const j = waiter.make();
  t.equal(j.status(), 'created');
  const outer = new AbortController();
  const p = j.run(null, jobContext({ signal: outer.signal }));
  await new Promise((r) => setImmediate(r));
  t.equal(j.status(), 'waiting for stop');
  t.equal(outer.signal.aborted, false);
  await j.stop();
  t.equal(seen?.aborted, true);
  t.same(await p, { state: 'succeeded', result: 'stopped' });
  t.equal(j.status(), 'succeeded');
});

t.test('the worker context signal also reaches run', async (t) => {
  const waiter = defineJob({
    type: 'waiter',
    run: (_a, _d, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason), { once: true })),
  });
  const outer = new AbortController();
  const p = waiter.make().run(null, jobContext({ signal: outer.signal }));
  outer.abort('timeout');
  t.same(await p, { state: 'succeeded', result: 'timeout' });
});

t.test('a status text set by the job reaches the worker context at once', async (t) => {
  const sent: string[] = [];
  const job = defineJob({
    type: 'steps',
    async run(_args, _data, ctx) {
      ctx.setStatus('step 1');
      ctx.setStatus(() => 'computed');
      ctx.setStatus('step 2');
      return 'ok';
    },
  }).make();
  await job.run(undefined, { ...jobContext(), setStatus: (s: string) => sent.push(s) });
  t.same(sent, ['step 1', 'step 2'], 'texts are forwarded; a function waits for the status() poll');
});

t.test("with the runner's ABORT_RUN, run sees ctx.signal itself, stop() aborts it, and ctx.log is read only when used", async (t) => {
  let seen: AbortSignal | undefined;
  let logReads = 0;
  const waiter = defineJob({
    type: 'waiter',
    async run(_a, _d, ctx) {
      seen = ctx.signal;
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      return 'stopped';
    },
  });
  const outer = new AbortController();
  const base = jobContext({ signal: outer.signal });
  const ctx = Object.defineProperties(
    { ...base, [ABORT_RUN]: () => outer.abort() },
    {
      log: {
        get() {
          logReads++;
          return base.log;
        },
        enumerable: true,
      },
    },
  );
  const j = waiter.make();
  const p = j.run(null, ctx);
  await new Promise((r) => setImmediate(r));
  t.equal(seen, outer.signal, 'no second controller or AbortSignal.any');
  await j.stop();
  t.equal(outer.signal.aborted, true, "stop() aborts the runner's signal");
  t.same(await p, { state: 'succeeded', result: 'stopped' });
  t.equal(logReads, 0, 'a job that does not log never reads ctx.log');

  const logs = defineJob({ type: 'logs', run: async (_a, _d, c) => void c.log.info('hello') });
  await logs.make().run(null, ctx);
  t.equal(logReads, 1, 'read when the job logs');
});
