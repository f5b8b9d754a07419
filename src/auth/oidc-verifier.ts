// Verifies the OIDC ID token on a push or operator call: signature, expiry,
// issuer and audience by google-auth-library; then what the library leaves to
// the service (CLOUD-TASKS.md "OIDC on pushes"): a verified email that is one
// of the allowed invokers.
//
// Decisions:
// - Audiences match exactly (no prefix or path matching). Cloud Tasks puts the
//   full task URL in `aud` unless the task names an audience, so the caller
//   lists every accepted value (config passes SERVICE_URL, its origin and the
//   push paths). An empty list accepts no token.
// - Invokers match exactly, case-insensitively. An empty list refuses every
//   caller (403): "no one is allowed" must never read as "anyone is".
// - Only RS256 is accepted (Google signs ID tokens with it); `alg: none` and
//   every other algorithm are refused before any key is looked at.
// - Keys are fetched through OAuth2Client from `certsUrl` and cached here for
//   the response's max-age (default 5 min when it sends none); a token whose
//   kid is unknown triggers one early refetch (keys rotate; a restarted
//   emulator has a new key), at most every MIN_REFETCH_MS.
// - Token times are checked by the library against the system clock, with its
//   5-minute skew allowance; `clock` only drives the key cache. The library
//   reads `exp`/`iat` through Number() (so "9999999999" passes) and ignores
//   `nbf`: here the three must be JSON numbers, and `nbf` is held to the same
//   skew as `exp`.
// - Reasons never contain the token: the library's messages do, so they are
//   mapped to fixed texts, never passed on.
import { OAuth2Client } from 'google-auth-library';
import type { Clock } from '../interfaces.ts';

export type VerifyResult =
  | { ok: true; email: string }
  /** 401: no or bad credentials; 403: a valid caller not allowed; 503: keys could not be fetched. */
  | { ok: false; status: 401 | 403 | 503; reason: string };

export interface OidcVerifier {
  verify(authorizationHeader: string | undefined): Promise<VerifyResult>;
}

export interface OidcVerifierOptions {
  /** Accepted `aud` values, matched exactly. Empty = no token is accepted. */
  audiences: string[];
  /** Allowed caller emails (service accounts). Empty = every caller is refused (403). */
  invokers: string[];
  /** Accepted `iss` values; default Google's. A URL issuer also matches with a trailing slash. */
  issuers?: string[];
  /** Where the kid -> PEM map lives; default Google's. For a custom issuer: `<issuer>/oauth2/v1/certs`. */
  certsUrl?: string;
  /** Drives the key cache; default the system clock. */
  clock?: Clock;
  /** Key cache lifetime when the certs response has no max-age; default 5 min. */
  defaultCertsTtlMs?: number;
}

export const GOOGLE_ISSUERS: readonly string[] = ['accounts.google.com', 'https://accounts.google.com'];
export const GOOGLE_PEM_CERTS_URL = 'https://www.googleapis.com/oauth2/v1/certs';
const DEFAULT_CERTS_TTL_MS = 5 * 60_000;
/** An unknown kid refetches the keys at most this often. */
const MIN_REFETCH_MS = 30_000;

type Certs = Record<string, string>;

export function createOidcVerifier(opts: OidcVerifierOptions): OidcVerifier {
  const clock = opts.clock ?? { now: () => Date.now() };
  const audiences = [...opts.audiences];
  const invokers = new Set(opts.invokers.map((e) => e.trim().toLowerCase()).filter(Boolean));
  const issuers = expandIssuers(opts.issuers ?? GOOGLE_ISSUERS);
  const certsUrl = opts.certsUrl ?? GOOGLE_PEM_CERTS_URL;
  const defaultTtl = opts.defaultCertsTtlMs ?? DEFAULT_CERTS_TTL_MS;
  const client = new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl: certsUrl }, issuers });

  let cache: { certs: Certs; fetchedAt: number; expiresAt: number } | undefined;
  let inflight: Promise<Certs> | undefined;

  async function fetchCerts(): Promise<Certs> {
    // A fresh client per fetch: OAuth2Client's own cache cannot be bypassed
    // when a kid is unknown, and it never caches a response without max-age.
    const fetcher = new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl: certsUrl } });
    const { certs, res } = await fetcher.getFederatedSignonCertsAsync();
    const now = clock.now();
    const maxAge = /max-age=(\d+)/.exec(res?.headers.get('cache-control') ?? '')?.[1];
    const ttl = maxAge === undefined ? defaultTtl : Number(maxAge) * 1000;
    cache = { certs: certs as Certs, fetchedAt: now, expiresAt: now + ttl };
    return cache.certs;
  }

  function refresh(): Promise<Certs> {
    inflight ??= fetchCerts().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  /** Keys that know `kid` if any can be had; a stale cache serves when the endpoint fails. */
  async function certsFor(kid: string): Promise<Certs> {
    const now = clock.now();
    if (!cache || now >= cache.expiresAt) {
      try {
        return await refresh();
      } catch (err) {
        if (cache) return cache.certs;
        throw err;
      }
    }
    if (!Object.hasOwn(cache.certs, kid) && now - cache.fetchedAt >= MIN_REFETCH_MS) {
      try {
        return await refresh();
      } catch {
        return cache.certs;
      }
    }
    return cache.certs;
  }

  return {
    async verify(authorizationHeader) {
      if (!authorizationHeader) return unauthenticated('missing Authorization header');
      const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorizationHeader);
      if (!match) return unauthenticated('Authorization is not a Bearer token');
      const token = match[1];
      const header = decodeHeader(token);
      if (!header) return unauthenticated('malformed token');
      if (header.alg !== 'RS256') return unauthenticated(`unsupported token algorithm "${String(header.alg).slice(0, 16)}"`);
      if (typeof header.kid !== 'string' || header.kid === '') return unauthenticated('token has no key id');

      let certs: Certs;
      try {
        certs = await certsFor(header.kid);
      } catch {
        return { ok: false, status: 503, reason: 'signing keys unavailable' };
      }
      if (!Object.hasOwn(certs, header.kid)) return unauthenticated('token signed by an unknown key');

      let payload: Record<string, unknown> | undefined;
      try {
        const ticket = await client.verifySignedJwtWithCertsAsync(token, certs, audiences, issuers);
        payload = ticket.getPayload() as Record<string, unknown> | undefined;
      } catch (err) {
        return unauthenticated(reasonFor(err));
      }
      if (!payload) return unauthenticated('malformed token');
      const times = checkTimeClaims(payload, Date.now() / 1000);
      if (times) return unauthenticated(times);
      if (payload.email_verified !== true) return unauthenticated('token email is not verified');
      const email = payload.email;
      if (typeof email !== 'string' || email === '') return unauthenticated('token has no email');
      if (invokers.size === 0) return { ok: false, status: 403, reason: 'no invokers are allowed (OIDC_INVOKERS is empty)' };
      if (!invokers.has(email.toLowerCase())) return { ok: false, status: 403, reason: `${email} is not an allowed invoker` };
      return { ok: true, email };
    },
  };
}

/** google-auth-library's allowance for clocks apart (OAuth2Client.CLOCK_SKEW_SECS_). */
export const CLOCK_SKEW_SECONDS = 300;

/** A reason to refuse the token's time claims, or undefined. `nowSeconds`: epoch seconds. */
export function checkTimeClaims(payload: Record<string, unknown>, nowSeconds: number): string | undefined {
  for (const claim of ['exp', 'iat', 'nbf'] as const) {
    const v = payload[claim];
    if (v === undefined && claim === 'nbf') continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) return `token ${claim} is not a number`;
  }
  if (typeof payload.nbf === 'number' && nowSeconds < payload.nbf - CLOCK_SKEW_SECONDS) return 'token not yet valid';
  return undefined;
}

function unauthenticated(reason: string): VerifyResult {
  return { ok: false, status: 401, reason };
}

/** `https://x` also as `https://x/` and the reverse; bare names as given. */
function expandIssuers(list: readonly string[]): string[] {
  const out = new Set<string>();
  for (const iss of list) {
    out.add(iss);
    if (/^https?:\/\//.test(iss)) out.add(iss.endsWith('/') ? iss.replace(/\/+$/, '') : `${iss}/`);
  }
  return [...out];
}

function decodeHeader(token: string): { alg?: unknown; kid?: unknown } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) || !parts[0] || !parts[1]) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (!isObject(header) || !isObject(payload)) return undefined;
    return header;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * google-auth-library throws plain Errors whose text includes the token or
 * its payload; only their fixed prefixes are read here (there is no code).
 */
const LIBRARY_REASONS: ReadonlyArray<[string, string]> = [
  ['Invalid token signature', 'bad token signature'],
  ['Token used too late', 'token expired'],
  ['Token used too early', 'token not yet valid'],
  ['Expiration time too far in future', 'token lifetime too long'],
  ['No issue time', 'token has no iat'],
  ['No expiration time', 'token has no exp'],
  ['iat field', 'token iat is not a number'],
  ['exp field', 'token exp is not a number'],
  ['Invalid issuer', 'wrong token issuer'],
  ['Wrong recipient', 'wrong token audience'],
];

function reasonFor(err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  for (const [prefix, reason] of LIBRARY_REASONS) if (message.startsWith(prefix)) return reason;
  return 'invalid token';
}
