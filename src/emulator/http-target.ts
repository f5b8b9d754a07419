// A queue's httpTarget (uriOverride, httpMethod, headerOverrides, OIDC/OAuth)
// and how it changes a task's HTTP request at dispatch.
import { invalidArgument } from './google-error.ts';
import type { HttpMethod } from './wire.ts';
import { HTTP_METHODS } from './wire.ts';

export interface UriOverrideSpec {
  scheme?: 'HTTP' | 'HTTPS';
  host?: string;
  /** 0 clears the port. */
  port?: number;
  /** '' clears the path. */
  path?: string;
  /** '' clears the query. */
  query?: string;
  mode: 'ALWAYS' | 'IF_NOT_EXISTS';
}

export interface HttpTargetSpec {
  uriOverride?: UriOverrideSpec;
  httpMethod?: Exclude<HttpMethod, 'HTTP_METHOD_UNSPECIFIED'>;
  headerOverrides: Array<{ key: string; value: string }>;
  oidcToken?: { serviceAccountEmail: string; audience?: string };
  oauthToken?: { serviceAccountEmail: string; scope?: string };
}

type Json = Record<string, unknown>;

/** Validate a (camelCase, type-checked) HttpTarget. */
export function parseHttpTarget(raw: Json, field: string): HttpTargetSpec {
  const out: HttpTargetSpec = { headerOverrides: [] };
  const u = raw.uriOverride as Json | undefined;
  if (u) {
    const o: UriOverrideSpec = { mode: u.uriOverrideEnforceMode === 'IF_NOT_EXISTS' ? 'IF_NOT_EXISTS' : 'ALWAYS' };
    if (u.scheme === 'HTTP' || u.scheme === 'HTTPS') o.scheme = u.scheme;
    if (u.host !== undefined) {
      if (u.host === '') throw invalidArgument(`${field}.uri_override.host must not be empty.`);
      o.host = String(u.host);
    }
    if (u.port !== undefined) {
      const port = Number(u.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidArgument(`${field}.uri_override.port must be between 0 and 65535.`);
      o.port = port;
    }
    if (u.pathOverride !== undefined) {
      const path = String((u.pathOverride as Json).path ?? '');
      if (path !== '' && !path.startsWith('/')) throw invalidArgument(`${field}.uri_override.path_override.path must begin with "/".`);
      o.path = path;
    }
    if (u.queryOverride !== undefined) o.query = String((u.queryOverride as Json).queryParams ?? '').replace(/^\?/, '');
    out.uriOverride = o;
  }
  if (raw.httpMethod !== undefined && raw.httpMethod !== 'HTTP_METHOD_UNSPECIFIED') out.httpMethod = raw.httpMethod as HttpTargetSpec['httpMethod'];
  for (const [i, ho] of ((raw.headerOverrides ?? []) as Json[]).entries()) {
    const h = (ho.header ?? {}) as Json;
    if (typeof h.key !== 'string' || h.key === '') throw invalidArgument(`${field}.header_overrides[${i}].header.key is required.`);
    out.headerOverrides.push({ key: h.key, value: String(h.value ?? '') });
  }
  // A token whose fields were all cleared by an update mask is no token.
  const token = (v: unknown) => (v && typeof v === 'object' && Object.keys(v).length > 0 ? (v as Json) : undefined);
  const oidc = token(raw.oidcToken);
  const oauth = token(raw.oauthToken);
  if (oidc && oauth) throw invalidArgument(`${field} may set oidc_token or oauth_token, not both.`);
  if (oidc) {
    if (!oidc.serviceAccountEmail) throw invalidArgument('service_account_email must be set.');
    out.oidcToken = { serviceAccountEmail: String(oidc.serviceAccountEmail), ...(oidc.audience ? { audience: String(oidc.audience) } : {}) };
  }
  if (oauth) {
    if (!oauth.serviceAccountEmail) throw invalidArgument('service_account_email must be set.');
    out.oauthToken = { serviceAccountEmail: String(oauth.serviceAccountEmail), ...(oauth.scope ? { scope: String(oauth.scope) } : {}) };
  }
  return out;
}

export function httpTargetToJson(t: HttpTargetSpec, enumsAsInt: boolean): Json {
  const out: Json = {};
  if (t.uriOverride) {
    const u = t.uriOverride;
    const o: Json = {};
    if (u.scheme) o.scheme = enumsAsInt ? (u.scheme === 'HTTP' ? 1 : 2) : u.scheme;
    if (u.host !== undefined) o.host = u.host;
    // int64 is a string in proto3 JSON.
    if (u.port !== undefined) o.port = String(u.port);
    if (u.path !== undefined) o.pathOverride = u.path ? { path: u.path } : {};
    if (u.query !== undefined) o.queryOverride = u.query ? { queryParams: u.query } : {};
    o.uriOverrideEnforceMode = enumsAsInt ? (u.mode === 'IF_NOT_EXISTS' ? 1 : 2) : u.mode;
    out.uriOverride = o;
  }
  if (t.httpMethod) out.httpMethod = enumsAsInt ? HTTP_METHODS.indexOf(t.httpMethod) : t.httpMethod;
  if (t.headerOverrides.length > 0) out.headerOverrides = t.headerOverrides.map((h) => ({ header: { ...h } }));
  if (t.oidcToken) out.oidcToken = { ...t.oidcToken };
  if (t.oauthToken) out.oauthToken = { ...t.oauthToken };
  return out;
}

/** The URL a task without one gets from its queue's uriOverride (BufferTask). */
export function urlFromOverride(o: UriOverrideSpec | undefined): string | undefined {
  if (!o?.host) return undefined;
  const scheme = o.scheme === 'HTTP' ? 'http' : 'https';
  return `${scheme}://${o.host}${o.port ? `:${o.port}` : ''}${o.path || '/'}${o.query ? `?${o.query}` : ''}`;
}

/**
 * Apply a uriOverride to a task URL. ALWAYS replaces every part the override
 * sets; IF_NOT_EXISTS fills only the parts the task URL lacks (an explicit
 * port, a path other than "/", a query): a task URL always has a scheme and host.
 */
export function overrideUrl(url: string, o: UriOverrideSpec): string {
  const u = new URL(url);
  const always = o.mode === 'ALWAYS';
  if (always && o.scheme) u.protocol = o.scheme === 'HTTP' ? 'http:' : 'https:';
  if (always && o.host) u.hostname = o.host;
  if (o.port !== undefined && (always || u.port === '')) u.port = o.port === 0 ? '' : String(o.port);
  if (o.path !== undefined && (always || u.pathname === '/' || u.pathname === '')) u.pathname = o.path || '/';
  if (o.query !== undefined && (always || u.search === '')) u.search = o.query;
  return u.toString();
}

export interface EffectiveHttpRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  oidcToken?: { serviceAccountEmail: string; audience?: string };
  oauthToken?: { serviceAccountEmail: string; scope?: string };
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** A task's request after its queue's httpTarget: what is actually sent. */
export function applyHttpTarget(req: EffectiveHttpRequest, t: HttpTargetSpec | undefined): EffectiveHttpRequest {
  if (!t) return req;
  const out: EffectiveHttpRequest = { ...req, headers: { ...req.headers } };
  if (t.uriOverride) out.url = overrideUrl(out.url, t.uriOverride);
  if (t.httpMethod) {
    out.method = t.httpMethod;
    if (!BODY_METHODS.has(out.method)) delete out.body;
  }
  for (const { key, value } of t.headerOverrides) {
    for (const k of Object.keys(out.headers)) if (k.toLowerCase() === key.toLowerCase()) delete out.headers[k];
    out.headers[key] = value;
  }
  if (t.oidcToken) {
    out.oidcToken = t.oidcToken;
    delete out.oauthToken;
  } else if (t.oauthToken) {
    out.oauthToken = t.oauthToken;
    delete out.oidcToken;
  }
  return out;
}
