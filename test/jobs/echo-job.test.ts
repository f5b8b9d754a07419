import t from 'tap';
import { echoJob } from '../../src/jobs/echo-job.ts';
import { jobContext } from './context.ts';

function make(args: Record<string, unknown>) {
  const job = echoJob().make();
  job.deserialize(Buffer.from(JSON.stringify(args)));
  return job;
}

t.test('echo returns its data and args', async (t) => {
  const res = await make({ note: 'x' }).run({ hello: 'world' }, jobContext());
  t.same(res, { state: 'succeeded', result: { data: { hello: 'world' }, args: { note: 'x' } } });
});

t.test('echo fails on demand, retryably or permanently', async (t) => {
  await t.rejects(make({ fail: 'retryable' }).run(null, jobContext()), { code: 'EchoFailed', permanent: false });
  await t.rejects(make({ fail: 'permanent' }).run(null, jobContext()), { code: 'EchoFailed', permanent: true });
});

t.test('failUntilAttempt fails retryably while attempt < N, then succeeds', async (t) => {
  await t.rejects(make({ failUntilAttempt: 3 }).run(1, jobContext({ attempt: 2 })), { code: 'EchoFailed', permanent: false });
  t.equal((await make({ failUntilAttempt: 3 }).run(1, jobContext({ attempt: 3 }))).state, 'succeeded');
});

t.test('sleepMs stops early with the abort reason when the signal fires', async (t) => {
  const ctl = new AbortController();
  const job = make({ sleepMs: 60_000 });
  const p = job.run(null, jobContext({ signal: ctl.signal }));
  t.match(job.status(), /sleeping/);
  const reason = new Error('timeout');
  ctl.abort(reason);
  await t.rejects(p, reason);
});

t.test('echo rejects a wrong fail value permanently', async (t) => {
  t.throws(() => make({ fail: 'sometimes' }), { code: 'WrongArgType', permanent: true });
});
