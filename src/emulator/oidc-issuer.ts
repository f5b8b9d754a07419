// The emulator's own OIDC issuer: signs Google-style ID tokens for pushes and
// serves the keys at Google's paths, so google-auth-library verifies them when
// pointed at the emulator (OIDC_ISSUER / OIDC_CERTS_URL). It also answers the
// metadata server's identity call, so `new GoogleAuth().getIdTokenClient(aud)`
// works locally with GCE_METADATA_HOST=<emulator host:port>.
//
// /oauth2/v1/certs serves SPKI public-key PEMs, not X.509 certificates as
// Google does: node:crypto cannot create certificates, and google-auth-library
// (crypto.createVerify(...).verify(pem)) and python google-auth accept both.
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface OidcIssuer {
  /** Key id put in every token's header and in the published keys. */
  readonly kid: string;
  /**
   * An RS256 ID token with Google's claims: iss, aud, sub, azp, email,
   * email_verified, iat, exp. `claims` adds or overrides claims (tests use it
   * to mint tokens a real issuer would not, e.g. email_verified: false).
   */
  signIdToken(input: SignIdTokenInput): string;
  /** JSON Web Key Set (Google's /oauth2/v3/certs). */
  jwks(): { keys: object[] };
  /** kid -> PEM (Google's /oauth2/v1/certs). */
  pemCerts(): Record<string, string>;
}

export interface SignIdTokenInput {
  audience: string;
  email: string;
  /** Default DEFAULT_TOKEN_LIFETIME_SECONDS. */
  expiresInSeconds?: number;
  claims?: Record<string, unknown>;
}

export interface OidcIssuerOptions {
  /** The `iss` claim; a function because the emulator learns its URL after listen. */
  issuer: () => string;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: { now(): number };
}

/** Default lifetime of a token, as Google's (1 hour). */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

/** How long clients may cache the keys. Short: a restarted emulator has a new key. */
export const CERTS_MAX_AGE_SECONDS = 300;

const ALG = 'RS256';

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * A stable numeric id for an email, shaped like a Google account's `sub`
 * (21 digits): the same email always gets the same id.
 */
export function subjectFor(email: string): string {
  const digest = createHash('sha256').update(email.toLowerCase()).digest();
  const n = digest.readBigUInt64BE(0) % 10n ** 20n;
  return `1${n.toString().padStart(20, '0')}`;
}

export function createOidcIssuer(opts: OidcIssuerOptions): OidcIssuer {
  const clock = opts.clock ?? { now: () => Date.now() };
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = keyId(publicKey);
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: ALG, use: 'sig' };
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();

  return {
    kid,
    signIdToken({ audience, email, expiresInSeconds = DEFAULT_TOKEN_LIFETIME_SECONDS, claims }) {
      if (!audience) throw new TypeError('signIdToken: audience is required');
      if (!email) throw new TypeError('signIdToken: email is required');
      const iat = Math.floor(clock.now() / 1000);
      const sub = subjectFor(email);
      const header = { alg: ALG, kid, typ: 'JWT' };
      const payload = { iss: opts.issuer(), aud: audience, azp: sub, sub, email, email_verified: true, iat, exp: iat + expiresInSeconds, ...claims };
      const signingInput = `${base64urlJson(header)}.${base64urlJson(payload)}`;
      const signature = sign('sha256', Buffer.from(signingInput), privateKey).toString('base64url');
      return `${signingInput}.${signature}`;
    },
    jwks: () => ({ keys: [{ ...jwk }] }),
    pemCerts: () => ({ [kid]: pem }),
  };
}

/** Like Google's kids: 40 hex digits, here the SHA-1 of the public key's DER. */
function keyId(publicKey: KeyObject): string {
  return createHash('sha1')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

export interface OidcIssuerRoutesOptions {
  issuer: OidcIssuer;
  /** Base URL clients reach the issuer at (no trailing slash). */
  issuerUrl: () => string;
  /** `project/project-id` on the metadata server; default `local-project`. */
  projectId?: string;
  /** The account `default` stands for; default `executor-dev@<projectId>.iam.gserviceaccount.com`. */
  defaultServiceAccount?: string;
}

const METADATA_FLAVOR = 'Metadata-Flavor';
const GOOGLE = 'Google';

/**
 * Adds the issuer's routes to `app` (a plain function, not a plugin: the
 * routes live at the root of the emulator's URL, as Google's do).
 */
export function oidcIssuerRoutes(app: FastifyInstance, opts: OidcIssuerRoutesOptions): void {
  const { issuer, issuerUrl } = opts;
  const projectId = opts.projectId ?? 'local-project';
  const defaultAccount = opts.defaultServiceAccount ?? `executor-dev@${projectId}.iam.gserviceaccount.com`;
  const cacheControl = `public, max-age=${CERTS_MAX_AGE_SECONDS}`;

  app.get('/.well-known/openid-configuration', async (_req, reply) => {
    const base = issuerUrl();
    return reply.header('cache-control', cacheControl).send({
      issuer: base,
      jwks_uri: `${base}/oauth2/v3/certs`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [ALG],
      scopes_supported: ['openid', 'email'],
      claims_supported: ['aud', 'azp', 'email', 'email_verified', 'exp', 'iat', 'iss', 'sub'],
    });
  });
  app.get('/oauth2/v3/certs', async (_req, reply) => reply.header('cache-control', cacheControl).send(issuer.jwks()));
  app.get('/oauth2/v1/certs', async (_req, reply) => reply.header('cache-control', cacheControl).send(issuer.pemCerts()));

  // ---- the metadata server, as far as ID tokens need it
  // Every answer carries `Metadata-Flavor: Google` (gcp-metadata checks it);
  // a request without that header is refused, as the real server does.
  const metadata = (handler: (req: FastifyRequest, reply: FastifyReply) => string | FastifyReply) => async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header(METADATA_FLAVOR, GOOGLE);
    if (req.headers['metadata-flavor'] !== GOOGLE) {
      return reply.code(403).type('text/plain').send('Missing required header "Metadata-Flavor": "Google"\n');
    }
    const out = handler(req, reply);
    return typeof out === 'string' ? reply.type('text/plain').send(out) : out;
  };
  const account = (name: string) => (name === 'default' ? defaultAccount : name);

  // gcp-metadata's isAvailable() probes `instance`; answer with a directory listing.
  const listing = () => 'attributes/\nhostname\nid\nservice-accounts/\nzone\n';
  app.get(
    '/computeMetadata/v1/',
    metadata(() => 'instance/\nproject/\n'),
  );
  app.get('/computeMetadata/v1/instance', metadata(listing));
  app.get(
    '/computeMetadata/v1/project/project-id',
    metadata(() => projectId),
  );
  app.get(
    '/computeMetadata/v1/instance/service-accounts/',
    metadata(() => `default/\n${defaultAccount}/\n`),
  );
  app.get(
    '/computeMetadata/v1/instance/service-accounts/:account/email',
    metadata((req) => account((req.params as { account: string }).account)),
  );
  app.get(
    '/computeMetadata/v1/instance/service-accounts/:account/identity',
    metadata((req, reply) => {
      const email = account((req.params as { account: string }).account);
      const audience = (req.query as { audience?: unknown }).audience;
      if (typeof audience !== 'string' || audience === '') {
        return reply.code(400).type('text/plain').send('non-empty audience parameter required\n');
      }
      if (!email.includes('@')) return reply.code(404).type('text/plain').send('service account not found\n');
      return issuer.signIdToken({ audience, email });
    }),
  );
}
