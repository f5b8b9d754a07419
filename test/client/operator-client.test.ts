import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { OperatorClient, OperatorError, Result, WatchTimeoutError } from '../../src/client/index.ts';

/** A tiny operator API whose answers the test scripts; records requests. */
async function fakeService(t: { teardown(fn: () => unknown): void }, answer: (req: IncomingMessage, body: string) => [number, unknown]) {
  const requests: Array<{ method: string; url: string; auth?: string; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), body });
      const [status, payload] = answer(req, body);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const record = (state: string, tier = 0) => ({ id: 'x1', state, tier, attempts: { [tier]: 1 }, history: [], createdAt: 'c', updatedAt: 'u' });

t.test('status is undefined for an unknown id; other errors become OperatorError with code and status', async (t) => {
  const svc = await fakeService(t, (req) =>
    req.url === '/v1/tasks/unknown'
      ? [404, { error: { code: 'NotFound', message: 'no' } }]
      : [403, { error: { code: 'Forbidden', message: 'not an invoker' } }],
  );
  const c = new OperatorClient({ serviceUrl: svc.url });
  t.equal(await c.status('unknown'), undefined);
  const err = await c.status('other').catch((e: unknown) => e);
  t.ok(err instanceof OperatorError);
  t.equal((err as OperatorError).status, 403);
  t.equal((err as OperatorError).code, 'Forbidden');
  t.match((err as OperatorError).message, /not an invoker/);
});

t.test('with auth oidc every call carries the ID token for the audience', async (t) => {
  const svc = await fakeService(t, () => [200, { redriven: 1, failed: 0 }]);
  const audiences: string[] = [];
  const c = new OperatorClient({
    serviceUrl: svc.url,
    auth: 'oidc',
    idTokenAudience: 'https://svc.example',
    idToken: async (aud) => {
      audiences.push(aud);
      return 'tok-123';
    },
  });
  t.same(await c.redrive('x1'), { redriven: 1, failed: 0 });
  t.equal(svc.requests[0]!.auth, 'Bearer tok-123');
  t.same(JSON.parse(svc.requests[0]!.body), { id: 'x1' });
  t.same(audiences, ['https://svc.example']);
});

t.test('without auth no Authorization header is sent', async (t) => {
  const svc = await fakeService(t, () => [200, { notifications: [] }]);
  await new OperatorClient({ serviceUrl: svc.url }).notifications({ id: 'x1' });
  t.equal(svc.requests[0]!.auth, undefined);
  t.equal(svc.requests[0]!.url, '/v1/notifications?id=x1');
});

t.test('an id that is not a task name is refused before any request', async (t) => {
  const svc = await fakeService(t, () => [200, {}]);
  await t.rejects(new OperatorClient({ serviceUrl: svc.url }).status('../etc'), { code: 'InvalidId' });
  t.equal(svc.requests.length, 0);
});

t.test('watch waits through not-yet-known, running and forwarded until the lineage ends', async (t) => {
  const states: Array<[number, unknown]> = [
    [404, {}],
    [200, record('running')],
    [200, record('forwarded')],
    [200, record('running', 1)],
    [200, record('succeeded', 1)],
  ];
  const svc = await fakeService(t, () => states.shift() ?? [500, {}]);
  const r = new Result({ id: 'x1', operator: new OperatorClient({ serviceUrl: svc.url }) });
  const progress: string[] = [];
  const rec = await r.watch({ intervalMs: 5, onProgress: (p) => progress.push(`${p.state}@${p.tier}`) });
  t.equal(rec.state, 'succeeded');
  t.same(progress, ['running@0', 'forwarded@0', 'running@1', 'succeeded@1']);
});

t.test('watch rejects with TaskFailedError code TaskCancelled for a cancelled lineage', async (t) => {
  const svc = await fakeService(t, () => [200, record('cancelled')]);
  const r = new Result({ id: 'x1', operator: new OperatorClient({ serviceUrl: svc.url }) });
  await t.rejects(r.watch({ intervalMs: 5 }), { name: 'TaskFailedError', code: 'TaskCancelled' });
});

t.test('watch gives up after timeoutMs with the last record, and stops on abort', async (t) => {
  const svc = await fakeService(t, () => [200, record('retrying')]);
  const r = new Result({ id: 'x1', operator: new OperatorClient({ serviceUrl: svc.url }) });
  const err = await r.watch({ intervalMs: 10, timeoutMs: 60 }).catch((e: unknown) => e);
  t.ok(err instanceof WatchTimeoutError);
  t.equal((err as WatchTimeoutError).record?.state, 'retrying');
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('stop watching')), 30);
  await t.rejects(r.watch({ intervalMs: 10, signal: ac.signal }), /stop watching/);
});

t.test('watch reports a change of status text as progress', async (t) => {
  const answers = [
    { ...record('running'), statusText: 'step 1' },
    { ...record('running'), statusText: 'step 1' },
    { ...record('running'), statusText: 'step 2' },
    record('succeeded'),
  ];
  let n = 0;
  const svc = await fakeService(t, () => [200, answers[Math.min(n++, answers.length - 1)]]);
  const r = new Result({ id: 'x1', operator: new OperatorClient({ serviceUrl: svc.url }) });
  const seen: Array<string | undefined> = [];
  await r.watch({ intervalMs: 5, onProgress: (rec) => seen.push(rec.statusText) });
  t.same(seen, ['step 1', 'step 2', undefined]);
});
