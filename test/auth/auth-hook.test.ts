import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { authHook, createOidcVerifier, type OidcVerifier } from '../../src/auth/index.ts';
import { startIssuerServer } from './issuer-server.ts';

const AUDIENCE = 'https://svc.example/tasks';
const INVOKER = 'invoker@p.iam.gserviceaccount.com';

async function build(t: Test, verifier: OidcVerifier | undefined) {
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const app = Fastify({ loggerInstance: logger });
  let handled = 0;
  app.addHook('onRequest', authHook(verifier));
  app.post('/tasks', async (req) => {
    handled++;
    return { invoker: req.invoker ?? null };
  });
  await app.ready();
  t.teardown(() => app.close());
  return { app, logs: () => lines.join(''), handled: () => handled };
}

async function withIssuer(t: Test) {
  const server = await startIssuerServer();
  t.teardown(() => server.close());
  const verifier = createOidcVerifier({ audiences: [AUDIENCE], invokers: [INVOKER], issuers: [server.url], certsUrl: server.certsUrl });
  return { server, verifier };
}

t.test('a verified invoker reaches the route with request.invoker set', async (t) => {
  const { server, verifier } = await withIssuer(t);
  const { app, handled } = await build(t, verifier);
  const token = server.issuer.signIdToken({ audience: AUDIENCE, email: INVOKER });
  const res = await app.inject({ method: 'POST', url: '/tasks', headers: { authorization: `Bearer ${token}` } });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { invoker: INVOKER });
  t.equal(handled(), 1);
});

t.test('no token: 401 with WWW-Authenticate: Bearer and an error body; the route never runs', async (t) => {
  const { verifier } = await withIssuer(t);
  const { app, handled } = await build(t, verifier);
  const res = await app.inject({ method: 'POST', url: '/tasks' });
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], 'Bearer');
  t.same(res.json(), { error: { code: 'Unauthenticated', message: 'missing Authorization header' } });
  t.equal(handled(), 0);
});

t.test('a bad token is refused and neither the body nor the log holds it', async (t) => {
  const { server, verifier } = await withIssuer(t);
  const { app, logs, handled } = await build(t, verifier);
  const token = server.issuer.signIdToken({ audience: 'https://elsewhere.example', email: INVOKER });
  const res = await app.inject({ method: 'POST', url: '/tasks', headers: { authorization: `Bearer ${token}` } });
  t.equal(res.statusCode, 401);
  t.same(res.json(), { error: { code: 'Unauthenticated', message: 'wrong token audience' } });
  t.notOk(res.body.includes(token.split('.')[2]));
  t.match(logs(), /wrong token audience/, 'the reason is logged');
  t.notOk(logs().includes(token.split('.')[1]), 'the token is not');
  t.notOk(logs().includes(token.split('.')[2]), 'nor its signature');
  t.equal(handled(), 0);
});

t.test('a valid caller who is not an invoker gets 403 without WWW-Authenticate', async (t) => {
  const { server, verifier } = await withIssuer(t);
  const { app, handled } = await build(t, verifier);
  const token = server.issuer.signIdToken({ audience: AUDIENCE, email: 'other@p.iam.gserviceaccount.com' });
  const res = await app.inject({ method: 'POST', url: '/tasks', headers: { authorization: `Bearer ${token}` } });
  t.equal(res.statusCode, 403);
  t.equal(res.headers['www-authenticate'], undefined);
  t.same(res.json(), { error: { code: 'PermissionDenied', message: 'other@p.iam.gserviceaccount.com is not an allowed invoker' } });
  t.equal(handled(), 0);
});

t.test('keys that cannot be fetched answer 503 with Retry-After', async (t) => {
  const verifier = createOidcVerifier({ audiences: [AUDIENCE], invokers: [INVOKER], issuers: ['http://gone.test'], certsUrl: 'http://127.0.0.1:1/certs' });
  const server = await startIssuerServer();
  const token = server.issuer.signIdToken({ audience: AUDIENCE, email: INVOKER });
  await server.close();
  const { app, handled } = await build(t, verifier);
  const res = await app.inject({ method: 'POST', url: '/tasks', headers: { authorization: `Bearer ${token}` } });
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '5');
  t.same(res.json(), { error: { code: 'AuthUnavailable', message: 'signing keys unavailable' } });
  t.equal(handled(), 0);
});

t.test('AUTH=none (no verifier) lets every request through, invoker unset', async (t) => {
  const { app, handled } = await build(t, undefined);
  const res = await app.inject({ method: 'POST', url: '/tasks', headers: { authorization: 'Bearer junk' } });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { invoker: null });
  t.equal(handled(), 1);
});
