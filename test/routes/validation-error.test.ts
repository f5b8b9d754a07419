// A request the /v1 schemas refuse answers 400 in the API's error shape with
// one readable message, as the handlers' own checks do; other errors keep
// Fastify's handling.
import t from 'tap';
import { devStack } from '../cli/capture-io.ts';

t.test('/v1 requests the schemas refuse answer 400 {error: {code: InvalidArgument, message}} naming the parameter', async (t) => {
  const s = await devStack(t);
  const cases: Array<[string, string]> = [
    ['/v1/tasks?state=bogus', 'state must be one of running, retrying, throttled, succeeded, failed, forwarded, cancelled'],
    ['/v1/tasks?pageSize=0', 'pageSize must be >= 1'],
    ['/v1/jobs/j-1?size=abc', 'size must be integer'],
  ];
  for (const [path, message] of cases) {
    const res = await fetch(`${s.server.url}${path}`);
    t.equal(res.status, 400, path);
    t.same(await res.json(), { error: { code: 'InvalidArgument', message } }, path);
  }
  // The handlers' own checks already had this shape; unchanged.
  const since = await fetch(`${s.server.url}/v1/tasks?since=yesterday`);
  t.equal(since.status, 400);
  t.equal((await since.json()).error.code, 'InvalidArgument');
  // Not a validation error: unchanged (404 for an unknown lineage, and a push is still acknowledged).
  t.equal((await fetch(`${s.server.url}/v1/tasks/nobody`)).status, 404);
  const push = await fetch(`${s.server.url}/tasks`, { method: 'POST', body: 'not json' });
  t.equal(push.status, 200, 'a malformed push is acknowledged, never refused');
});

t.test('an unknown route answers 404 in the API error shape, naming method and path but not the query', async (t) => {
  const s = await devStack(t);
  const res = await fetch(`${s.server.url}/v2/nothing-here?token=secret`, { method: 'DELETE' });
  t.equal(res.status, 404);
  const body = await res.json();
  t.same(body, { error: { code: 'NotFound', message: 'no route DELETE /v2/nothing-here' } });
  t.notMatch(JSON.stringify(body), /secret/);
});
