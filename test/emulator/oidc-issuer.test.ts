import { createPublicKey, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { GoogleAuth, OAuth2Client } from 'google-auth-library';
import t, { type Test } from 'tap';
import { createOidcVerifier } from '../../src/auth/oidc-verifier.ts';
import { createOidcIssuer, type OidcIssuer, oidcIssuerRoutes, subjectFor } from '../../src/emulator/oidc-issuer.ts';

function decode(token: string): { header: Record<string, unknown>; payload: Record<string, unknown>; parts: string[] } {
  const parts = token.split('.');
  return {
    header: JSON.parse(Buffer.from(parts[0], 'base64url').toString()),
    payload: JSON.parse(Buffer.from(parts[1], 'base64url').toString()),
    parts,
  };
}

async function serveIssuer(t: Test): Promise<{ url: string; issuer: OidcIssuer }> {
  let url = '';
  const issuer = createOidcIssuer({ issuer: () => url });
  const app = Fastify();
  oidcIssuerRoutes(app, { issuer, issuerUrl: () => url });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  t.teardown(() => app.close());
  return { url, issuer };
}

t.test('a token carries Google’s header and claims, times from the clock, 1 h by default', async (t) => {
  let now = Date.UTC(2030, 0, 1, 12, 0, 0);
  const issuer = createOidcIssuer({ issuer: () => 'http://issuer.test', clock: { now: () => now } });
  const { header, payload } = decode(issuer.signIdToken({ audience: 'https://svc.test/tasks', email: 'a@p.iam.gserviceaccount.com' }));
  t.same(header, { alg: 'RS256', kid: issuer.kid, typ: 'JWT' });
  t.match(issuer.kid, /^[0-9a-f]{40}$/);
  t.equal(payload.iss, 'http://issuer.test');
  t.equal(payload.aud, 'https://svc.test/tasks');
  t.equal(payload.email, 'a@p.iam.gserviceaccount.com');
  t.equal(payload.email_verified, true);
  t.match(payload.sub, /^1\d{20}$/, 'numeric-looking subject');
  t.equal(payload.azp, payload.sub);
  t.equal(payload.iat, now / 1000);
  t.equal(payload.exp, now / 1000 + 3600);

  now += 5000;
  const later = decode(issuer.signIdToken({ audience: 'x', email: 'a@p.iam.gserviceaccount.com', expiresInSeconds: 60 })).payload;
  t.equal(later.iat, now / 1000);
  t.equal(later.exp, now / 1000 + 60);
  t.equal(later.sub, payload.sub, 'the same email keeps its subject');
  t.equal(subjectFor('A@P.iam.gserviceaccount.com'), payload.sub, 'subject ignores email case');
  t.not(subjectFor('b@p.iam.gserviceaccount.com'), payload.sub, 'another email, another subject');
});

t.test('signIdToken refuses an empty audience or email', async (t) => {
  const issuer = createOidcIssuer({ issuer: () => 'http://issuer.test' });
  t.throws(() => issuer.signIdToken({ audience: '', email: 'a@b' }), /audience/);
  t.throws(() => issuer.signIdToken({ audience: 'x', email: '' }), /email/);
});

t.test('each issuer has its own key; the JWKS key verifies the signature', async (t) => {
  const a = createOidcIssuer({ issuer: () => 'http://a' });
  const b = createOidcIssuer({ issuer: () => 'http://b' });
  t.not(a.kid, b.kid);
  const [jwk] = a.jwks().keys as Array<Record<string, string>>;
  t.equal(jwk.kid, a.kid);
  t.equal(jwk.alg, 'RS256');
  t.equal(jwk.use, 'sig');
  t.equal(jwk.kty, 'RSA');
  t.notOk('d' in jwk, 'no private part published');
  const { parts } = decode(a.signIdToken({ audience: 'x', email: 'e@x' }));
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  t.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
  t.ok(verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2], 'base64url')));
  const other = createPublicKey({ key: b.jwks().keys[0] as Record<string, string>, format: 'jwk' });
  t.notOk(verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), other, Buffer.from(parts[2], 'base64url')));
});

t.test('discovery document and key sets are served at Google’s paths, cacheable', async (t) => {
  const { url, issuer } = await serveIssuer(t);
  const conf = await fetch(`${url}/.well-known/openid-configuration`);
  t.equal(conf.status, 200);
  const doc = (await conf.json()) as Record<string, unknown>;
  t.equal(doc.issuer, url);
  t.equal(doc.jwks_uri, `${url}/oauth2/v3/certs`);
  t.same(doc.id_token_signing_alg_values_supported, ['RS256']);

  const v3 = await fetch(`${url}/oauth2/v3/certs`);
  t.same(await v3.json(), issuer.jwks());
  t.match(v3.headers.get('cache-control'), /max-age=\d+/);
  const v1 = await fetch(`${url}/oauth2/v1/certs`);
  const pems = (await v1.json()) as Record<string, string>;
  t.same(Object.keys(pems), [issuer.kid]);
  t.match(pems[issuer.kid], /^-----BEGIN PUBLIC KEY-----/);
  t.match(v1.headers.get('cache-control'), /max-age=\d+/);
});

t.test('google-auth-library verifies the issuer’s tokens with the served PEM certs', async (t) => {
  const { url, issuer } = await serveIssuer(t);
  const token = issuer.signIdToken({ audience: 'https://svc.test/tasks', email: 'inv@p.iam.gserviceaccount.com' });

  const certs = (await (await fetch(`${url}/oauth2/v1/certs`)).json()) as Record<string, string>;
  const direct = await new OAuth2Client().verifySignedJwtWithCertsAsync(token, certs, 'https://svc.test/tasks', [url]);
  t.equal(direct.getPayload()?.email, 'inv@p.iam.gserviceaccount.com');

  const client = new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl: `${url}/oauth2/v1/certs` }, issuers: [url] });
  const ticket = await client.verifyIdToken({ idToken: token, audience: 'https://svc.test/tasks' });
  t.equal(ticket.getPayload()?.aud, 'https://svc.test/tasks');
  await t.rejects(client.verifyIdToken({ idToken: token, audience: 'https://other.test' }), /Wrong recipient/);
});

t.test('the metadata identity call needs Metadata-Flavor: Google and returns a token as text', async (t) => {
  const { url, issuer } = await serveIssuer(t);
  const path = `${url}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${encodeURIComponent('https://svc.test/tasks')}`;

  const refused = await fetch(path);
  t.equal(refused.status, 403);
  t.notMatch(await refused.text(), /\./, 'no token without the header');
  const wrong = await fetch(path, { headers: { 'Metadata-Flavor': 'Other' } });
  t.equal(wrong.status, 403);

  const res = await fetch(path, { headers: { 'Metadata-Flavor': 'Google' } });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain/);
  t.equal(res.headers.get('metadata-flavor'), 'Google');
  const token = await res.text();
  const { header, payload } = decode(token);
  t.equal(header.kid, issuer.kid);
  t.equal(payload.email, 'executor-dev@local-project.iam.gserviceaccount.com', 'default is the dev account');
  t.equal(payload.aud, 'https://svc.test/tasks');
  t.equal(payload.iss, url);

  const named = await fetch(`${url}/computeMetadata/v1/instance/service-accounts/ops@p.iam.gserviceaccount.com/identity?audience=x&format=full`, {
    headers: { 'Metadata-Flavor': 'Google' },
  });
  t.equal(decode(await named.text()).payload.email, 'ops@p.iam.gserviceaccount.com');

  const noAudience = await fetch(`${url}/computeMetadata/v1/instance/service-accounts/default/identity`, { headers: { 'Metadata-Flavor': 'Google' } });
  t.equal(noAudience.status, 400);
  const email = await fetch(`${url}/computeMetadata/v1/instance/service-accounts/default/email`, { headers: { 'Metadata-Flavor': 'Google' } });
  t.equal(await email.text(), 'executor-dev@local-project.iam.gserviceaccount.com');
});

t.test('GoogleAuth().getIdTokenClient works against the issuer with GCE_METADATA_HOST', async (t) => {
  const { url } = await serveIssuer(t);
  const emptyConfig = await mkdtemp(join(tmpdir(), 'executor-gcloud-'));
  const names = [
    'GCE_METADATA_HOST',
    'GCE_METADATA_IP',
    'CLOUDSDK_CONFIG',
    'GOOGLE_APPLICATION_CREDENTIALS',
    'google_application_credentials',
    'GOOGLE_CLOUD_PROJECT',
    'METADATA_SERVER_DETECTION',
  ];
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  t.teardown(async () => {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
    await rm(emptyConfig, { recursive: true, force: true });
  });
  for (const n of names) delete process.env[n];
  process.env.GCE_METADATA_HOST = url.replace(/^http:\/\//, '');
  process.env.CLOUDSDK_CONFIG = emptyConfig; // no gcloud ADC file is picked up
  process.env.GOOGLE_CLOUD_PROJECT = 'local-project'; // no project-id lookups

  const audience = 'https://svc.test';
  const client = await new GoogleAuth().getIdTokenClient(audience);
  const headers = await client.getRequestHeaders();
  const authorization = headers.get('authorization') ?? '';
  t.match(authorization, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);

  const verifier = createOidcVerifier({
    audiences: [audience],
    invokers: ['executor-dev@local-project.iam.gserviceaccount.com'],
    issuers: [url],
    certsUrl: `${url}/oauth2/v1/certs`,
  });
  t.same(await verifier.verify(authorization), { ok: true, email: 'executor-dev@local-project.iam.gserviceaccount.com' });
});
