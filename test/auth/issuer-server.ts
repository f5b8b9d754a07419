// Test helper: a real Fastify server on an OS-chosen port serving an OIDC
// issuer's routes, counting requests for the PEM certs; plus a hand signer
// for tokens no honest issuer would mint.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import Fastify from 'fastify';
import { createOidcIssuer, type OidcIssuer, oidcIssuerRoutes } from '../../src/emulator/oidc-issuer.ts';

export interface IssuerServer {
  url: string;
  issuer: OidcIssuer;
  certsUrl: string;
  /** GET /oauth2/v1/certs served so far. */
  certRequests(): number;
  close(): Promise<void>;
}

export async function startIssuerServer(opts: { clock?: { now(): number } } = {}): Promise<IssuerServer> {
  let url = '';
  const issuer = createOidcIssuer({ issuer: () => url, ...(opts.clock ? { clock: opts.clock } : {}) });
  const app = Fastify();
  let certs = 0;
  app.addHook('onRequest', async (req) => {
    if (req.url === '/oauth2/v1/certs') certs++;
  });
  oidcIssuerRoutes(app, { issuer, issuerUrl: () => url });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return { url, issuer, certsUrl: `${url}/oauth2/v1/certs`, certRequests: () => certs, close: () => app.close() };
}

/** A JWT signed with `key` (RS256) or unsigned (alg none), header and claims as given. */
export function handSignedJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key?: KeyObject): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = key ? sign('sha256', Buffer.from(input), key).toString('base64url') : '';
  return `${input}.${signature}`;
}

export function rsaKey(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}
