// The `http` job: call one URL on an allowed host (DESIGN §4). Its args and
// outcomes are in the README ("Built-in job outcomes", "The http sandbox").
//
// Why it is built this way: failures caused by a response are returned, not
// thrown, so the status and body reach the ledger and the notification.
// Redirects are never followed (the target may be off the allow-list). The
// host check resolves every address and refuses link-local and metadata
// addresses; the connection resolves through the same check (undici's connect
// `lookup`), so a DNS answer that changes in between (rebinding) is refused at
// connect time instead of being connected to.

import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { Type } from '@sinclair/typebox';
import type { JobResult } from '../interfaces.ts';
import { defineJob, type JobFactory } from './define-job.ts';
import { PermanentError, RetryableError, WrongArgType } from './errors.ts';
import { isAllowed, isForbiddenAddress, isForbiddenHost, normalizeHost, parseAllowEntry } from './host-policy.ts';

export const HttpArgs = Type.Object({
  url: Type.String({ minLength: 1 }),
  method: Type.Optional(Type.String({ pattern: '^[A-Za-z]+$' })),
  headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  body: Type.Optional(Type.Union([Type.String(), Type.Record(Type.String(), Type.Unknown()), Type.Array(Type.Unknown())])),
});

export type LookupAll = (hostname: string) => Promise<Array<{ address: string }>>;

export interface HttpJobOptions {
  /** HTTP_JOB_ALLOW entries: `host`, `host:port`, `*.example.com`. Empty = every call refused. */
  allow: readonly string[];
  fetchImpl?: typeof fetch;
  /** Largest response body kept in the result; default 64 KiB. */
  maxResponseBytes?: number;
  /** Resolve every address of a name; default dns.lookup(all). Injectable for tests. */
  lookup?: LookupAll;
}

/** Error code of a connection refused at connect time by the address check. */
const FORBIDDEN_AT_CONNECT = 'EXECUTOR_FORBIDDEN_ADDRESS';

/**
 * A net `lookup` for the HTTP client that resolves through `lookup` and
 * refuses (instead of connecting) when any address is forbidden.
 */
export function pinnedLookup(lookup: LookupAll): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname).then(
      (found) => {
        const bad = found.find((a) => isForbiddenAddress(a.address));
        if (bad || found.length === 0) {
          const err = Object.assign(new Error(bad ? `"${hostname}" resolved to a forbidden address at connect time` : `no address for "${hostname}"`), {
            code: bad ? FORBIDDEN_AT_CONNECT : 'ENOTFOUND',
          });
          (callback as (e: Error) => void)(err);
          return;
        }
        const family = options.family === 'IPv6' ? 6 : options.family === 'IPv4' ? 4 : options.family;
        const usable = found.map((a) => ({ address: a.address, family: isIP(a.address) })).filter((a) => !family || a.family === family);
        if (usable.length === 0) {
          (callback as (e: Error) => void)(Object.assign(new Error(`no IPv${family} address for "${hostname}"`), { code: 'ENOTFOUND' }));
          return;
        }
        if (options.all) (callback as (e: null, a: typeof usable) => void)(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (err: unknown) => (callback as (e: Error) => void)(err as Error),
    );
  };
}

/** undici's fetch with an Agent that connects only to checked addresses; loaded on the first call. */
function pinnedFetch(lookup: LookupAll): typeof fetch {
  let ready: Promise<typeof fetch> | undefined;
  return async (input, init) => {
    ready ??= import('undici').then(({ Agent, fetch: undiciFetch }) => {
      const dispatcher = new Agent({ connect: { lookup: pinnedLookup(lookup) } });
      return ((url: Parameters<typeof fetch>[0], options?: RequestInit) =>
        undiciFetch(url as string | URL, { ...(options as object), dispatcher } as Parameters<typeof undiciFetch>[1])) as unknown as typeof fetch;
    });
    return (await ready)(input, init);
  };
}

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

const defaultLookup: LookupAll = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export function httpJob(opts: HttpJobOptions): JobFactory {
  const allow = opts.allow.map(parseAllowEntry);
  const maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const lookup = opts.lookup ?? defaultLookup;
  const doFetch = opts.fetchImpl ?? pinnedFetch(lookup);

  return defineJob({
    type: 'http',
    args: HttpArgs,
    async run(args, _data, ctx) {
      const url = parseUrl(args.url);
      const where = `${url.origin}${url.pathname}`; // never the query: it may hold secrets
      await checkHost(url, allow, lookup);

      const headers = new Headers(args.headers ?? {});
      let body: string | undefined;
      if (typeof args.body === 'string') body = args.body;
      else if (args.body !== undefined) {
        body = JSON.stringify(args.body);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
      const method = (args.method ?? (body === undefined ? 'GET' : 'POST')).toUpperCase();

      ctx.setStatus(`${method} ${where}`);
      let res: Response;
      try {
        res = await doFetch(url, { method, headers, ...(body !== undefined ? { body } : {}), redirect: 'manual', signal: ctx.signal });
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (networkReason(err) === FORBIDDEN_AT_CONNECT) {
          throw new PermanentError(`host "${normalizeHost(url.hostname)}" is not allowed: it resolved to a link-local or metadata address when connecting`, {
            code: 'HostNotAllowed',
          });
        }
        throw new RetryableError(`${method} ${where} failed: ${networkReason(err)}`, { code: 'NetworkError', cause: err });
      }
      ctx.setStatus(`${method} ${where} -> ${res.status}`);
      const result = await readResponse(res, maxBytes).catch((err: unknown) => {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        throw new RetryableError(`${method} ${where}: reading the response failed: ${networkReason(err)}`, { code: 'NetworkError', cause: err });
      });
      return classify(res, result, `${method} ${where}`);
    },
  });
}

function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WrongArgType('url', 'an absolute http(s) URL', raw);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WrongArgType('url', 'an absolute http(s) URL', raw);
  return url;
}

async function checkHost(url: URL, allow: ReturnType<typeof parseAllowEntry>[], lookup: LookupAll): Promise<void> {
  const host = normalizeHost(url.hostname);
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const refuse = (why: string) => new PermanentError(`host "${host}" is not allowed: ${why}`, { code: 'HostNotAllowed' });
  if (isForbiddenHost(host)) throw refuse('metadata server and link-local addresses are always refused');
  if (!isAllowed(allow, host, port)) throw refuse(`not in HTTP_JOB_ALLOW (port ${port})`);
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host);
  } catch (err) {
    throw new RetryableError(`cannot resolve "${host}": ${networkReason(err)}`, { code: 'NetworkError', cause: err });
  }
  if (addresses.some((a) => isForbiddenAddress(a.address))) throw refuse('it resolves to a link-local or metadata address');
}

interface HttpOutput {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  truncated?: true;
}

/** Read at most maxBytes of the body, then cancel the rest. */
async function readResponse(res: Response, maxBytes: number): Promise<HttpOutput> {
  const contentType = res.headers.get('content-type');
  const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = maxBytes - size;
      if (value.byteLength > room) {
        chunks.push(value.subarray(0, room));
        size += room;
        truncated = true;
        await reader.cancel().catch(() => {});
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  let body: unknown = text;
  if (!truncated && contentType && /[/+]json\b/i.test(contentType) && text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON after all: keep the text.
    }
  }
  return truncated ? { status: res.status, headers, body, truncated: true } : { status: res.status, headers, body };
}

function classify(res: Response, result: HttpOutput, what: string): JobResult {
  const s = res.status;
  if (s >= 200 && s < 300) return { state: 'succeeded', result };
  const label = `${what} answered ${s}${res.statusText ? ` ${res.statusText}` : ''}`;
  if (s === 408 || s === 429 || s >= 500) {
    const retryAfterSeconds = parseRetryAfter(res.headers.get('retry-after'));
    const error = new RetryableError(label, { code: 'HttpStatus' }).toInfo();
    return retryAfterSeconds === undefined ? { state: 'failed', error, result } : { state: 'failed', error, result, retryAfterSeconds };
  }
  if (s >= 300 && s < 400) {
    const location = res.headers.get('location');
    if (location) result.headers.location = location;
    return { state: 'failed', error: new PermanentError(`${label}; redirects are not followed`, { code: 'HttpRedirect' }).toInfo(), result };
  }
  return { state: 'failed', error: new PermanentError(label, { code: 'HttpStatus' }).toInfo(), result };
}

/** Retry-After as delta-seconds or an HTTP-date; undefined when absent or garbled. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return (err as { code?: string })?.code ?? (err as Error)?.message ?? String(err);
}
