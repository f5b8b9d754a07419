import { createHmac } from 'node:crypto';
import Fastify from 'fastify';
import t, { type Test } from 'tap';
import { createOidcVerifier, type OidcVerifierOptions } from '../../src/auth/oidc-verifier.ts';
import { createOidcIssuer } from '../../src/emulator/oidc-issuer.ts';
import { handSignedJwt, type IssuerServer, rsaKey, startIssuerServer } from './issuer-server.ts';

const AUDIENCE = 'https://svc.example/tasks';
const INVOKER = 'invoker@p.iam.gserviceaccount.com';

async function setup(t: Test, extra: Partial<OidcVerifierOptions> = {}) {
  const server = await startIssuerServer();
  t.teardown(() => server.close());
  const verifier = createOidcVerifier({
    audiences: [AUDIENCE, 'https://svc.example'],
    invokers: [INVOKER],
    issuers: [server.url],
    certsUrl: server.certsUrl,
    ...extra,
  });
  const mint = (input: { audience?: string; email?: string; claims?: Record<string, unknown> } = {}) =>
    server.issuer.signIdToken({ audience: input.audience ?? AUDIENCE, email: input.email ?? INVOKER, ...(input.claims ? { claims: input.claims } : {}) });
  return { server, verifier, mint };
}

function claims(server: IssuerServer, over: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { iss: server.url, aud: AUDIENCE, sub: '1', email: INVOKER, email_verified: true, iat, exp: iat + 600, ...over };
}

t.test('a valid token from an allowed invoker is accepted, for every listed audience, exactly', async (t) => {
  const { verifier, mint } = await setup(t);
  t.same(await verifier.verify(`Bearer ${mint()}`), { ok: true, email: INVOKER });
  t.same(await verifier.verify(`bearer ${mint({ audience: 'https://svc.example' })}`), { ok: true, email: INVOKER }, 'scheme is case-insensitive');
  const withPath = await verifier.verify(`Bearer ${mint({ audience: 'https://svc.example/tasks/extra' })}`);
  t.same(withPath, { ok: false, status: 401, reason: 'wrong token audience' }, 'no prefix matching');
});

t.test('invokers match the token email case-insensitively', async (t) => {
  const { verifier, mint } = await setup(t, { invokers: ['Invoker@P.iam.gserviceaccount.com'] });
  t.same(await verifier.verify(`Bearer ${mint()}`), { ok: true, email: INVOKER });
});

t.test('every bad credential is refused with 401 and a reason that never holds the token', async (t) => {
  const past = Date.now() - 2 * 3600_000;
  const { server, verifier, mint } = await setup(t);
  const stranger = createOidcIssuer({ issuer: () => server.url });
  const otherKey = rsaKey();
  const kid = server.issuer.kid;
  const validToken = mint();
  const [h, p] = validToken.split('.');

  const cases: Array<[string, string | undefined, RegExp]> = [
    ['missing header', undefined, /missing Authorization/],
    ['empty header', '', /missing Authorization/],
    ['not Bearer', `Basic ${Buffer.from('a:b').toString('base64')}`, /not a Bearer token/],
    ['Bearer without token', 'Bearer ', /not a Bearer token/],
    ['two segments', `Bearer ${h}.${p}`, /malformed/],
    ['garbage segments', 'Bearer abc.def.ghi', /malformed/],
    ['not JSON', `Bearer ${Buffer.from('nope').toString('base64url')}.${p}.sig`, /malformed/],
    ['expired', `Bearer ${mint({ claims: { iat: Math.floor(past / 1000), exp: Math.floor(past / 1000) + 3600 } })}`, /^token expired$/],
    ['wrong audience', `Bearer ${mint({ audience: 'https://other.example/tasks' })}`, /^wrong token audience$/],
    ['wrong issuer', `Bearer ${mint({ claims: { iss: 'https://accounts.google.com' } })}`, /^wrong token issuer$/],
    [
      'signed by another key under the trusted kid',
      `Bearer ${handSignedJwt({ alg: 'RS256', kid, typ: 'JWT' }, claims(server), otherKey)}`,
      /^bad token signature$/,
    ],
    [
      'payload swapped under a valid signature',
      `Bearer ${h}.${Buffer.from(JSON.stringify(claims(server, { email: 'evil@x' }))).toString('base64url')}.${validToken.split('.')[2]}`,
      /^bad token signature$/,
    ],
    ['another issuer’s kid', `Bearer ${stranger.signIdToken({ audience: AUDIENCE, email: INVOKER })}`, /unknown key/],
    ['alg none', `Bearer ${handSignedJwt({ alg: 'none', kid, typ: 'JWT' }, claims(server))}`, /unsupported token algorithm "none"/],
    ['alg HS256 keyed with the public PEM', `Bearer ${hs256(claims(server), kid, server.issuer.pemCerts()[kid])}`, /unsupported token algorithm "HS256"/],
    ['no kid', `Bearer ${handSignedJwt({ alg: 'RS256', typ: 'JWT' }, claims(server), otherKey)}`, /no key id/],
    ['email not verified', `Bearer ${mint({ claims: { email_verified: false } })}`, /not verified/],
    ['email_verified as a string', `Bearer ${mint({ claims: { email_verified: 'true' } })}`, /not verified/],
    ['no email', `Bearer ${mint({ claims: { email: undefined } })}`, /no email/],
    ['lifetime over a day', `Bearer ${mint({ claims: { exp: Math.floor(Date.now() / 1000) + 3 * 86400 } })}`, /lifetime too long/],
    ['exp as a string', `Bearer ${mint({ claims: { exp: String(Math.floor(Date.now() / 1000) + 600) } })}`, /^token exp is not a number$/],
    ['iat as a string', `Bearer ${mint({ claims: { iat: String(Math.floor(Date.now() / 1000)) } })}`, /^token iat is not a number$/],
    ['nbf as a string', `Bearer ${mint({ claims: { nbf: String(Math.floor(Date.now() / 1000)) } })}`, /^token nbf is not a number$/],
    ['nbf in the future past the skew', `Bearer ${mint({ claims: { nbf: Math.floor(Date.now() / 1000) + 400 } })}`, /^token not yet valid$/],
  ];
  for (const [name, header, reason] of cases) {
    const result = await verifier.verify(header);
    t.equal(result.ok, false, `${name}: refused`);
    if (result.ok) continue;
    t.equal(result.status, 401, `${name}: 401`);
    t.match(result.reason, reason, `${name}: reason`);
    const token = header?.replace(/^\S+\s*/, '') ?? '';
    if (token.length > 10) {
      for (const part of token.split('.').filter((s) => s.length > 8)) t.notOk(result.reason.includes(part), `${name}: reason holds no token part`);
    }
  }
});

t.test('an expired token is refused as expired once its key is known', async (t) => {
  const { server, verifier } = await setup(t);
  // The stale token must carry the served kid: mint it with the served issuer, by overriding times.
  const iat = Math.floor(Date.now() / 1000) - 2 * 3600;
  const token = server.issuer.signIdToken({ audience: AUDIENCE, email: INVOKER, claims: { iat, exp: iat + 3600 } });
  t.same(await verifier.verify(`Bearer ${token}`), { ok: false, status: 401, reason: 'token expired' });
  const future = Math.floor(Date.now() / 1000) + 3600;
  const early = server.issuer.signIdToken({ audience: AUDIENCE, email: INVOKER, claims: { iat: future, exp: future + 600 } });
  t.same(await verifier.verify(`Bearer ${early}`), { ok: false, status: 401, reason: 'token not yet valid' });
});

t.test('a valid token whose email is not an invoker gets 403; no invokers refuses everyone', async (t) => {
  const { verifier, mint, server } = await setup(t);
  t.same(await verifier.verify(`Bearer ${mint({ email: 'someone@p.iam.gserviceaccount.com' })}`), {
    ok: false,
    status: 403,
    reason: 'someone@p.iam.gserviceaccount.com is not an allowed invoker',
  });
  const none = createOidcVerifier({ audiences: [AUDIENCE], invokers: [], issuers: [server.url], certsUrl: server.certsUrl });
  const result = await none.verify(`Bearer ${mint()}`);
  t.equal(result.ok, false);
  if (!result.ok) t.equal(result.status, 403);
});

t.test('no audiences accepts no token', async (t) => {
  const { server, mint } = await setup(t);
  const verifier = createOidcVerifier({ audiences: [], invokers: [INVOKER], issuers: [server.url], certsUrl: server.certsUrl });
  t.same(await verifier.verify(`Bearer ${mint()}`), { ok: false, status: 401, reason: 'wrong token audience' });
});

t.test('an issuer configured with a trailing slash still matches', async (t) => {
  const { server, mint } = await setup(t);
  const verifier = createOidcVerifier({ audiences: [AUDIENCE], invokers: [INVOKER], issuers: [`${server.url}/`], certsUrl: server.certsUrl });
  t.same(await verifier.verify(`Bearer ${mint()}`), { ok: true, email: INVOKER });
});

t.test('by default only Google’s issuers are trusted', async (t) => {
  const { server, mint } = await setup(t);
  const verifier = createOidcVerifier({ audiences: [AUDIENCE], invokers: [INVOKER], certsUrl: server.certsUrl });
  t.same(await verifier.verify(`Bearer ${mint()}`), { ok: false, status: 401, reason: 'wrong token issuer' });
  t.same(await verifier.verify(`Bearer ${mint({ claims: { iss: 'https://accounts.google.com' } })}`), { ok: true, email: INVOKER });
});

t.test('certificates are fetched once and cached for their max-age', async (t) => {
  let now = Date.now();
  const { server, verifier, mint } = await setup(t, { clock: { now: () => now } });
  const results = await Promise.all([1, 2, 3, 4].map(() => verifier.verify(`Bearer ${mint()}`)));
  t.ok(results.every((r) => r.ok));
  for (let i = 0; i < 3; i++) t.ok((await verifier.verify(`Bearer ${mint()}`)).ok);
  t.equal(server.certRequests(), 1, 'concurrent and later verifications share one fetch');
  now += 299_000;
  await verifier.verify(`Bearer ${mint()}`);
  t.equal(server.certRequests(), 1, 'still fresh within max-age=300');
  now += 2_000;
  t.ok((await verifier.verify(`Bearer ${mint()}`)).ok);
  t.equal(server.certRequests(), 2, 'refetched after max-age');
});

t.test('a certs endpoint without cache-control is cached too; an unknown kid refetches (rotation), rate-limited', async (t) => {
  let now = Date.now();
  const old = createOidcIssuer({ issuer: () => 'http://rotating.test' });
  const next = createOidcIssuer({ issuer: () => 'http://rotating.test' });
  let serving = old;
  let requests = 0;
  const app = Fastify();
  app.get('/certs', async () => {
    requests++;
    return serving.pemCerts();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const addr = app.server.address();
  const certsUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/certs`;
  const verifier = createOidcVerifier({ audiences: [AUDIENCE], invokers: [INVOKER], issuers: ['http://rotating.test'], certsUrl, clock: { now: () => now } });
  const sign = (issuer: typeof old) => `Bearer ${issuer.signIdToken({ audience: AUDIENCE, email: INVOKER })}`;

  t.ok((await verifier.verify(sign(old))).ok);
  t.ok((await verifier.verify(sign(old))).ok);
  t.equal(requests, 1, 'no max-age: still cached');

  serving = next;
  t.same(await verifier.verify(sign(next)), { ok: false, status: 401, reason: 'token signed by an unknown key' }, 'a fresh cache is not refetched at once');
  t.equal(requests, 1);
  now += 31_000;
  t.ok((await verifier.verify(sign(next))).ok, 'the new key is found after a refetch');
  t.equal(requests, 2);
  t.same(await verifier.verify(sign(old)), { ok: false, status: 401, reason: 'token signed by an unknown key' }, 'the retired key is gone');
  t.equal(requests, 2);
});

t.test('certificates that cannot be fetched give 503; a stale cache keeps serving', async (t) => {
  let now = Date.now();
  const server = await startIssuerServer();
  const token = server.issuer.signIdToken({ audience: AUDIENCE, email: INVOKER });
  const options = { audiences: [AUDIENCE], invokers: [INVOKER], issuers: [server.url], certsUrl: server.certsUrl, clock: { now: () => now } };
  const warm = createOidcVerifier(options);
  t.ok((await warm.verify(`Bearer ${token}`)).ok);
  await server.close();

  const cold = createOidcVerifier(options);
  t.same(await cold.verify(`Bearer ${token}`), { ok: false, status: 503, reason: 'signing keys unavailable' });
  now += 3600_000;
  t.ok((await warm.verify(`Bearer ${token}`)).ok, 'expired cache used while the endpoint is down');
});

function hs256(payload: Record<string, unknown>, kid: string, secret: string): string {
  const input = `${Buffer.from(JSON.stringify({ alg: 'HS256', kid, typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

t.test('nbf is held to the same 5-minute skew as exp: within it accepted, past it refused', async (t) => {
  const { verifier, mint } = await setup(t);
  const now = Math.floor(Date.now() / 1000);
  t.ok((await verifier.verify(`Bearer ${mint({ claims: { nbf: now + 60 } })}`)).ok, 'nbf a minute ahead (clock skew) is accepted');
  t.ok((await verifier.verify(`Bearer ${mint({ claims: { nbf: now - 60 } })}`)).ok, 'nbf in the past is accepted');
  t.same(await verifier.verify(`Bearer ${mint({ claims: { nbf: now + 3600 } })}`), { ok: false, status: 401, reason: 'token not yet valid' });
});

t.test('a token verified once is accepted again from memory only while its key is still served', async (t) => {
  let now = Date.now();
  const old = createOidcIssuer({ issuer: () => 'http://remembered.test' });
  const next = createOidcIssuer({ issuer: () => 'http://remembered.test' });
  let serving = old;
  const app = Fastify();
  app.get('/certs', async () => serving.pemCerts());
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const addr = app.server.address();
  const certsUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/certs`;
  const verifier = createOidcVerifier({ audiences: [AUDIENCE], invokers: [INVOKER], issuers: ['http://remembered.test'], certsUrl, clock: { now: () => now } });
  const remembered = `Bearer ${old.signIdToken({ audience: AUDIENCE, email: INVOKER })}`;
  t.same(await verifier.verify(remembered), { ok: true, email: INVOKER });
  t.same(await verifier.verify(remembered), { ok: true, email: INVOKER }, 'the same token again');
  serving = next;
  now += 31_000;
  t.ok((await verifier.verify(`Bearer ${next.signIdToken({ audience: AUDIENCE, email: INVOKER })}`)).ok, 'the rotated key set is fetched');
  t.same(
    await verifier.verify(remembered),
    { ok: false, status: 401, reason: 'token signed by an unknown key' },
    'its key is no longer served: not accepted from memory',
  );
});

t.test('a served key of another type refuses the token as a bad signature instead of throwing', async (t) => {
  const { generateKeyPairSync } = await import('node:crypto');
  const ed = generateKeyPairSync('ed25519');
  const app = Fastify();
  app.get('/certs', async () => ({ edkey: ed.publicKey.export({ format: 'pem', type: 'spki' }) }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const addr = app.server.address();
  const certsUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/certs`;
  const verifier = createOidcVerifier({ audiences: [AUDIENCE], invokers: [INVOKER], issuers: ['http://ed.test'], certsUrl });
  const iat = Math.floor(Date.now() / 1000);
  const token = handSignedJwt(
    { alg: 'RS256', kid: 'edkey', typ: 'JWT' },
    { iss: 'http://ed.test', aud: AUDIENCE, email: INVOKER, email_verified: true, iat, exp: iat + 600 },
    rsaKey(),
  );
  t.same(await verifier.verify(`Bearer ${token}`), { ok: false, status: 401, reason: 'bad token signature' });
});
