// Verifies the OIDC ID token on a push or operator call: signature, expiry,
// issuer and audience as google-auth-library checks them (its keys fetch, its
// claim rules, reproduced below with a cached key); then what the library leaves to
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
// - The hot path (README "Design decisions"): each served key is imported
//   once (a KeyObject per kid; the library parsed the PEM on every call), the
//   RS256 signature is checked with it here, and then the library's own claim
//   checks are applied in its order (checkLibraryClaims, same reasons). A
//   token that verified is remembered, keyed by its exact text, until its
//   `exp` plus the skew and only while its kid is still served (at most
//   VERIFIED_CACHE_SIZE, oldest dropped first): a repeated token costs a
//   lookup, a fresh one an RSA verify.
import { createPublicKey, type KeyObject, verify as verifySignature } from 'node:crypto';
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
/** Verified tokens remembered (by their text) until they expire. */
export const VERIFIED_CACHE_SIZE = 1000;
/** google-auth-library's DEFAULT_MAX_TOKEN_LIFETIME_SECS_: a token living longer is refused. */
const MAX_TOKEN_LIFETIME_SECONDS = 86_400;

type Certs = Record<string, string>;

export function createOidcVerifier(opts: OidcVerifierOptions): OidcVerifier {
  const clock = opts.clock ?? { now: () => Date.now() };
  const audiences = [...opts.audiences];
  const invokers = new Set(opts.invokers.map((e) => e.trim().toLowerCase()).filter(Boolean));
  const issuers = expandIssuers(opts.issuers ?? GOOGLE_ISSUERS);
  const certsUrl = opts.certsUrl ?? GOOGLE_PEM_CERTS_URL;
  const defaultTtl = opts.defaultCertsTtlMs ?? DEFAULT_CERTS_TTL_MS;
  let cache: { certs: Certs; keys: Map<string, KeyObject>; fetchedAt: number; expiresAt: number } | undefined;
  const verified = new Map<string, { email: string; kid: string; exp: number }>();

  /** The served key of `kid`, imported once per fetched key set. */
  function keyOf(certs: Certs, kid: string): KeyObject {
    const keys = cache?.certs === certs ? cache.keys : new Map<string, KeyObject>();
    let key = keys.get(kid);
    if (!key) keys.set(kid, (key = createPublicKey(certs[kid]!)));
    return key;
  }
  let inflight: Promise<Certs> | undefined;

  async function fetchCerts(): Promise<Certs> {
    // A fresh client per fetch: OAuth2Client's own cache cannot be bypassed
    // when a kid is unknown, and it never caches a response without max-age.
    const fetcher = new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl: certsUrl } });
    const { certs, res } = await fetcher.getFederatedSignonCertsAsync();
    const now = clock.now();
    const maxAge = /max-age=(\d+)/.exec(res?.headers.get('cache-control') ?? '')?.[1];
    const ttl = maxAge === undefined ? defaultTtl : Number(maxAge) * 1000;
    cache = { certs: certs as Certs, keys: new Map(), fetchedAt: now, expiresAt: now + ttl };
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
      const nowSeconds = Date.now() / 1000;
      const known = verified.get(token);
      if (known) {
        if (nowSeconds <= known.exp + CLOCK_SKEW_SECONDS && cache && clock.now() < cache.expiresAt && Object.hasOwn(cache.certs, known.kid)) {
          return { ok: true, email: known.email };
        }
        verified.delete(token); // expired, or its key is no longer served: verified again below
      }
      const decoded = decodeToken(token);
      if (!decoded) return unauthenticated('malformed token');
      const { header, payload } = decoded;
      if (header.alg !== 'RS256') return unauthenticated(`unsupported token algorithm "${String(header.alg).slice(0, 16)}"`);
      if (typeof header.kid !== 'string' || header.kid === '') return unauthenticated('token has no key id');

      let certs: Certs;
      try {
        certs = await certsFor(header.kid);
      } catch {
        return { ok: false, status: 503, reason: 'signing keys unavailable' };
      }
      if (!Object.hasOwn(certs, header.kid)) return unauthenticated('token signed by an unknown key');

      let key: KeyObject;
      try {
        key = keyOf(certs, header.kid);
      } catch {
        return unauthenticated('token signed by an unknown key'); // a served PEM that does not parse
      }
      let signed: boolean;
      try {
        signed = verifySignature('RSA-SHA256', Buffer.from(decoded.signed), key, Buffer.from(decoded.signature, 'base64url'));
      } catch {
        signed = false; // a served key of another type (Ed25519 refuses the digest): not an RS256 signature
      }
      if (!signed) return unauthenticated('bad token signature');
      const claims = checkLibraryClaims(payload, nowSeconds, audiences, issuers);
      if (claims) return unauthenticated(claims);
      const times = checkTimeClaims(payload, nowSeconds);
      if (times) return unauthenticated(times);
      if (payload.email_verified !== true) return unauthenticated('token email is not verified');
      const email = payload.email;
      if (typeof email !== 'string' || email === '') return unauthenticated('token has no email');
      if (invokers.size === 0) return { ok: false, status: 403, reason: 'no invokers are allowed (OIDC_INVOKERS is empty)' };
      if (!invokers.has(email.toLowerCase())) return { ok: false, status: 403, reason: `${email} is not an allowed invoker` };
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(token, { email, kid: header.kid, exp: payload.exp as number });
      return { ok: true, email };
    },
  };
}

/**
 * The claim checks of google-auth-library's verifySignedJwtWithCertsAsync, in
 * its order and with the reasons its messages map to: present iat and exp
 * (read through Number(), as it does), a lifetime under a day, the skew
 * window, an accepted issuer and an exactly listed audience.
 */
export function checkLibraryClaims(
  payload: Record<string, unknown>,
  nowSeconds: number,
  audiences: readonly string[],
  issuers: readonly string[],
): string | undefined {
  if (!payload.iat) return 'token has no iat';
  if (!payload.exp) return 'token has no exp';
  const iat = Number(payload.iat);
  if (Number.isNaN(iat)) return 'token iat is not a number';
  const exp = Number(payload.exp);
  if (Number.isNaN(exp)) return 'token exp is not a number';
  if (exp >= nowSeconds + MAX_TOKEN_LIFETIME_SECONDS) return 'token lifetime too long';
  if (nowSeconds < iat - CLOCK_SKEW_SECONDS) return 'token not yet valid';
  if (nowSeconds > exp + CLOCK_SKEW_SECONDS) return 'token expired';
  if (!issuers.includes(payload.iss as string)) return 'wrong token issuer';
  if (!audiences.includes(payload.aud as string)) return 'wrong token audience';
  return undefined;
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

function decodeToken(token: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signed: string; signature: string } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) || !parts[0] || !parts[1]) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (!isObject(header) || !isObject(payload)) return undefined;
    return { header, payload, signed: `${parts[0]}.${parts[1]}`, signature: parts[2]! };
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
