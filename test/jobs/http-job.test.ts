import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import type { JobResult } from '../../src/interfaces.ts';
import { type HttpJobOptions, httpJob, parseRetryAfter } from '../../src/jobs/http-job.ts';
import { jobContext } from './context.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function server(t: Test, handler: Handler) {
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  return (s.address() as AddressInfo).port;
}

async function call(opts: HttpJobOptions, args: Record<string, unknown>): Promise<JobResult> {
  const job = httpJob(opts).make();
  job.create(args);
  return job.run(undefined, jobContext());
}

function reply(status: number, headers: Record<string, string> = {}, body = ''): Handler {
  return (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
}

t.test('2xx succeeds with status, content-type and the parsed JSON body', async (t) => {
  let seen = { method: '', body: '', type: '' };
  const port = await server(t, (req, res, body) => {
    seen = { method: req.method ?? '', body, type: req.headers['content-type'] ?? '' };
    res.writeHead(200, { 'content-type': 'application/json', 'x-secret': 's' });
    res.end('{"ok":true}');
  });
  const r = await call({ allow: [`127.0.0.1:${port}`] }, { url: `http://127.0.0.1:${port}/hook?token=abc`, body: { a: 1 } });
  t.same(r, { state: 'succeeded', result: { status: 200, headers: { 'content-type': 'application/json' }, body: { ok: true } } });
  t.same(seen, { method: 'POST', body: '{"a":1}', type: 'application/json' });
});

t.test('404 is a permanent failure that keeps the response', async (t) => {
  const port = await server(t, reply(404, { 'content-type': 'text/plain' }, 'no such thing'));
  const r = await call({ allow: ['127.0.0.1'] }, { url: `http://127.0.0.1:${port}/x` });
  t.equal(r.state, 'failed');
  t.match(r.error, { code: 'HttpStatus', permanent: true });
  t.match(r.error?.message, /404/);
  t.match(r.result, { status: 404, body: 'no such thing' });
});

for (const status of [408, 429, 503]) {
  t.test(`${status} is retryable and Retry-After becomes retryAfterSeconds`, async (t) => {
    const port = await server(t, reply(status, { 'retry-after': '17' }));
    const r = await call({ allow: ['127.0.0.1'] }, { url: `http://127.0.0.1:${port}/` });
    t.equal(r.state, 'failed');
    t.match(r.error, { code: 'HttpStatus', permanent: false });
    t.equal(r.retryAfterSeconds, 17);
  });
}

t.test('a 5xx without Retry-After carries no retryAfterSeconds', async (t) => {
  const port = await server(t, reply(500));
  const r = await call({ allow: ['127.0.0.1'] }, { url: `http://127.0.0.1:${port}/` });
  t.match(r.error, { permanent: false });
  t.notOk('retryAfterSeconds' in r);
});

t.test('Retry-After as an HTTP date becomes seconds from now', async (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  t.equal(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now), 60);
  t.equal(parseRetryAfter('garbled', now), undefined);
});

t.test('a redirect is not followed and fails permanently', async (t) => {
  let hits = 0;
  const port = await server(t, (_req, res) => {
    hits++;
    res.writeHead(302, { location: 'http://169.254.169.254/computeMetadata/v1/' });
    res.end();
  });
  const r = await call({ allow: ['127.0.0.1'] }, { url: `http://127.0.0.1:${port}/` });
  t.equal(hits, 1);
  t.match(r.error, { code: 'HttpRedirect', permanent: true });
  t.equal((r.result as { headers: Record<string, string> }).headers.location, 'http://169.254.169.254/computeMetadata/v1/');
});

t.test('connection refused is a retryable NetworkError', async (t) => {
  const port = await server(t, reply(200));
  // Close it again so the port is (very likely) free and refuses connections.
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const dead = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  t.not(dead, port);
  await t.rejects(call({ allow: ['127.0.0.1'] }, { url: `http://127.0.0.1:${dead}/` }), { code: 'NetworkError', permanent: false });
});

t.test('the response body kept is bounded and marked truncated', async (t) => {
  const port = await server(t, reply(200, { 'content-type': 'application/json' }, JSON.stringify({ big: 'x'.repeat(10_000) })));
  const r = await call({ allow: ['127.0.0.1'], maxResponseBytes: 100 }, { url: `http://127.0.0.1:${port}/` });
  const out = r.result as { body: string; truncated: boolean };
  t.equal(out.truncated, true);
  t.equal(typeof out.body, 'string');
  t.equal(Buffer.byteLength(out.body), 100);
});

t.test('a host not in the allow list is refused permanently without a request', async (t) => {
  let hits = 0;
  const port = await server(t, (_q, res) => {
    hits++;
    res.end();
  });
  await t.rejects(call({ allow: ['example.com'] }, { url: `http://127.0.0.1:${port}/` }), { code: 'HostNotAllowed', permanent: true });
  await t.rejects(call({ allow: [`127.0.0.1:${port + 1}`] }, { url: `http://127.0.0.1:${port}/` }), { code: 'HostNotAllowed' });
  await t.rejects(call({ allow: [] }, { url: `http://127.0.0.1:${port}/` }), { code: 'HostNotAllowed' });
  t.equal(hits, 0);
});

t.test('the metadata server and link-local addresses are refused even when listed', async (t) => {
  let fetched = 0;
  const fetchImpl = (async () => {
    fetched++;
    return new Response('creds');
  }) as typeof fetch;
  const allow = ['169.254.169.254', 'metadata.google.internal', 'metadata', '169.254.1.1:8080', '[fe80::1]', '*.google.internal'];
  for (const url of [
    'http://169.254.169.254/computeMetadata/v1/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://METADATA.GOOGLE.INTERNAL./x',
    'http://metadata/x',
    'http://169.254.1.1:8080/',
    'http://[fe80::1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://2852039166/', // 169.254.169.254 as one number
  ]) {
    await t.rejects(
      call({ allow: [...allow, '[::ffff:a9fe:a9fe]', '169.254.169.254:80'], fetchImpl }, { url }),
      { code: 'HostNotAllowed', permanent: true },
      url,
    );
  }
  t.equal(fetched, 0);
});

t.test('a listed name that resolves to a link-local address is refused', async (t) => {
  let fetched = 0;
  const fetchImpl = (async () => {
    fetched++;
    return new Response('x');
  }) as typeof fetch;
  const lookup = async () => [{ address: '93.184.216.34' }, { address: '169.254.169.254' }];
  await t.rejects(call({ allow: ['evil.example'], fetchImpl, lookup }, { url: 'http://evil.example/' }), { code: 'HostNotAllowed', permanent: true });
  t.equal(fetched, 0);
});

t.test('a wildcard entry matches subdomains on any (or the listed) port, not the bare domain', async (t) => {
  const seen: string[] = [];
  const fetchImpl = (async (u: URL) => {
    seen.push(String(u));
    return new Response('ok');
  }) as typeof fetch;
  const lookup = async () => [{ address: '93.184.216.34' }];
  const opts = { allow: ['*.example.com', '*.svc.test:8443'], fetchImpl, lookup };
  t.equal((await call(opts, { url: 'https://api.example.com/a' })).state, 'succeeded');
  t.equal((await call(opts, { url: 'http://a.b.example.com:9000/b' })).state, 'succeeded');
  t.equal((await call(opts, { url: 'https://x.svc.test:8443/' })).state, 'succeeded');
  await t.rejects(call(opts, { url: 'https://example.com/' }), { code: 'HostNotAllowed' });
  await t.rejects(call(opts, { url: 'https://evilexample.com/' }), { code: 'HostNotAllowed' });
  await t.rejects(call(opts, { url: 'https://x.svc.test/' }), { code: 'HostNotAllowed' });
  t.equal(seen.length, 3);
});

t.test('a URL that is not http(s) is a permanent WrongArgType', async (t) => {
  await t.rejects(call({ allow: ['*'] }, { url: 'file:///etc/passwd' }), { code: 'WrongArgType', permanent: true });
  await t.rejects(call({ allow: ['*'] }, { url: 'not a url' }), { code: 'WrongArgType', permanent: true });
});

t.test('an aborted signal ends the call with the abort reason', async (t) => {
  const port = await server(t, () => {
    /* never answers */
  });
  const job = httpJob({ allow: ['127.0.0.1'] }).make();
  job.create({ url: `http://127.0.0.1:${port}/` });
  const ctl = new AbortController();
  const p = job.run(undefined, jobContext({ signal: ctl.signal }));
  setTimeout(() => ctl.abort(new Error('timed out')), 50);
  await t.rejects(p, { message: 'timed out' });
});

t.test('the IPv6 metadata address is refused even when listed, by literal and after DNS', async (t) => {
  let fetched = 0;
  const fetchImpl = (async () => {
    fetched++;
    return new Response('x');
  }) as typeof fetch;
  const allow = ['[fd20:ce::254]', 'v6meta.example', 'mapped.example'];
  await t.rejects(call({ allow, fetchImpl }, { url: 'http://[fd20:ce::254]/computeMetadata/v1/' }), { code: 'HostNotAllowed', permanent: true });
  const v6 = async () => [{ address: 'fd20:ce::254' }];
  await t.rejects(call({ allow, fetchImpl, lookup: v6 }, { url: 'http://v6meta.example/' }), { code: 'HostNotAllowed', permanent: true });
  const mapped = async () => [{ address: '::ffff:a9fe:a9fe' }];
  await t.rejects(call({ allow, fetchImpl, lookup: mapped }, { url: 'http://mapped.example/' }), { code: 'HostNotAllowed', permanent: true });
  t.equal(fetched, 0, 'nothing was fetched');
});

t.test('the connection goes to the address the check resolved: a name only the checked lookup knows is reached', async (t) => {
  let hits = 0;
  const port = await server(t, (_req, res) => {
    hits++;
    res.end('ok');
  });
  const lookup = async (name: string) => (name === 'svc.pinned.test' ? [{ address: '127.0.0.1' }] : []);
  const r = await call({ allow: [`svc.pinned.test:${port}`], lookup }, { url: `http://svc.pinned.test:${port}/` });
  t.equal(r.state, 'succeeded', 'system DNS does not know the name; only the pinned lookup does');
  t.equal(hits, 1);
});

t.test('DNS rebinding: an answer that turns to the metadata address after the check is refused at connect, nothing is sent', async (t) => {
  let hits = 0;
  const port = await server(t, (_req, res) => {
    hits++;
    res.end('ok');
  });
  let calls = 0;
  const lookup = async () => (++calls === 1 ? [{ address: '127.0.0.1' }] : [{ address: '169.254.169.254' }]);
  await t.rejects(call({ allow: [`rebind.test:${port}`], lookup }, { url: `http://rebind.test:${port}/` }), {
    code: 'HostNotAllowed',
    permanent: true,
    message: /when connecting/,
  });
  t.ok(calls >= 2, 'the connection resolved through the checked lookup');
  t.equal(hits, 0, 'no request reached any server');
});
