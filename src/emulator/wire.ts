// Proto3 JSON encodings the REST surface uses: durations ("0.100s"),
// RFC 3339 timestamps, enums by name or number, bytes as base64, page tokens.
import { invalidArgument } from './google-error.ts';

/** "3600s", "0.100s", "1.5s" -> milliseconds. Also accepts {seconds, nanos}. */
export function parseDuration(value: unknown, field: string): number {
  if (typeof value === 'object' && value !== null) {
    const v = value as { seconds?: unknown; nanos?: unknown };
    return Number(v.seconds ?? 0) * 1000 + Math.floor(Number(v.nanos ?? 0) / 1e6);
  }
  const m = typeof value === 'string' ? /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(value.trim()) : null;
  if (!m)
    throw invalidArgument(
      `Invalid value at '${field}' (type.googleapis.com/google.protobuf.Duration), Field '${field}', Illegal duration format; duration must end with 's'`,
    );
  const frac = (m[2] ?? '').padEnd(9, '0');
  return Number(m[1]) * 1000 + Math.floor(Number(frac) / 1e6);
}

/** milliseconds -> "3600s" or "0.100s" (proto3 JSON uses 0, 3, 6 or 9 fraction digits). */
export function formatDuration(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${(ms / 1000).toFixed(3)}s`;
}

/** RFC 3339 with any number of fraction digits (nanos are truncated to ms). */
export function parseTimestamp(value: unknown, field: string): number {
  if (typeof value === 'object' && value !== null) {
    const v = value as { seconds?: unknown; nanos?: unknown };
    return Number(v.seconds ?? 0) * 1000 + Math.floor(Number(v.nanos ?? 0) / 1e6);
  }
  const m = typeof value === 'string' ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(value.trim()) : null;
  const ms = m ? Date.parse(`${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}${m[3]}`) : NaN;
  if (Number.isNaN(ms))
    throw invalidArgument(`Invalid value at '${field}' (type.googleapis.com/google.protobuf.Timestamp), Field '${field}', Invalid time format`);
  return ms;
}

export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

/** Epoch seconds with a microsecond fraction, as X-CloudTasks-TaskETA carries it. */
export function formatEtaSeconds(ms: number): string {
  return (ms / 1000).toFixed(6);
}

/** An enum codec: accepts the name or the number, writes whichever the caller asked for. */
export interface EnumCodec<N extends string> {
  parse(value: unknown, field: string): N | undefined;
  format(name: N, asInt: boolean): string | number;
}

export function enumCodec<N extends string>(names: readonly N[]): EnumCodec<N> {
  return {
    parse(value, field) {
      if (value === undefined || value === null) return undefined;
      if (typeof value === 'number' && Number.isInteger(value) && names[value] !== undefined) return names[value];
      if (typeof value === 'string') {
        if ((names as readonly string[]).includes(value)) return value as N;
        if (/^\d+$/.test(value) && names[Number(value)] !== undefined) return names[Number(value)];
      }
      throw invalidArgument(`Invalid value at '${field}', ${JSON.stringify(value)}`);
    },
    format(name, asInt) {
      return asInt ? names.indexOf(name) : name;
    },
  };
}

export const HTTP_METHODS = ['HTTP_METHOD_UNSPECIFIED', 'POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export const httpMethodEnum = enumCodec(HTTP_METHODS);

export const VIEWS = ['VIEW_UNSPECIFIED', 'BASIC', 'FULL'] as const;
export type View = (typeof VIEWS)[number];
export const viewEnum = enumCodec(VIEWS);

export const QUEUE_STATES = ['STATE_UNSPECIFIED', 'RUNNING', 'PAUSED', 'DISABLED'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];
export const queueStateEnum = enumCodec(QUEUE_STATES);

/** Bytes fields: the Node client sends standard base64, gcloud the URL-safe alphabet. */
export function parseBytes(value: unknown, field: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) {
    throw invalidArgument(`Invalid value at '${field}' (TYPE_BYTES), Base64 decoding failed`);
  }
  // Node's base64 decoder reads both alphabets.
  return Buffer.from(value, 'base64');
}

/** Page tokens are opaque to clients; here they carry the offset of the next item. */
export function encodePageToken(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

export function decodePageToken(token: unknown): number {
  if (token === undefined || token === '') return 0;
  const m = typeof token === 'string' ? /^o:(\d+)$/.exec(Buffer.from(token, 'base64url').toString()) : null;
  if (!m) throw invalidArgument('Invalid page token');
  return Number(m[1]);
}

export function parsePageSize(value: unknown, max: number): number {
  if (value === undefined || value === '') return max;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw invalidArgument(`Invalid page size: ${String(value)}`);
  return n === 0 ? max : Math.min(n, max);
}

/** One page of `items` from a token, and the token of the next page (absent at the end). */
export function page<T>(items: T[], pageSize: unknown, pageToken: unknown, max: number): { items: T[]; nextPageToken?: string } {
  const size = parsePageSize(pageSize, max);
  const offset = decodePageToken(pageToken);
  const slice = items.slice(offset, offset + size);
  const next = offset + size;
  return next < items.length ? { items: slice, nextPageToken: encodePageToken(next) } : { items: slice };
}
