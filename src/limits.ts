// Every bound the service puts on input and on what it derives from input,
// in one place (README "Input limits"), plus the one helper that keeps a
// ledger record or a notification under its backend's size limit.
import type { CloudEvent, ErrorInfo, LineageRecord } from './interfaces.ts';

/** Nesting of `[`/`{` in a pushed body; checked on the raw text before JSON.parse. */
export const MAX_JSON_DEPTH = 64;
/** An object key anywhere in a body (a key that long is never a real field name). */
export const MAX_KEY_BYTES = 1024;
/** Error messages and any quoted key or value derived from input. */
export const MAX_TEXT_BYTES = 512;
/** A ledger record and a notification event, as JSON (Firestore allows 1 MiB, Cloud Tasks 1 MiB, Pub/Sub 10 MB). */
export const MAX_RECORD_BYTES = 256 * 1024;
/** Cloud Tasks' 1 MiB task limit plus headroom. */
export const TASK_BODY_LIMIT = 1024 * 1024 + 64 * 1024;
/** Pub/Sub's 10 MB message, base64 in a JSON push body (4/3 larger), plus attributes. */
export const PUBSUB_BODY_LIMIT = 14 * 1024 * 1024;
/** Cloud Tasks refuses a task whose headers (names and values) are 80 KB or more (HttpRequest.headers). */
export const CLOUD_TASKS_HEADER_BYTES = 80 * 1024;
/**
 * Request headers in total, as Node counts them (names, `: `, values, CRLFs).
 * On the wire each header costs 4 bytes more than Cloud Tasks counts; a task's
 * header names are distinct, so most are 3 characters or more and 80 KB of
 * them take about 200 KB at worst; 3x (240 KiB) bounds any header map, plus
 * 16 KiB for what Cloud Tasks and Cloud Run add (X-CloudTasks-*,
 * Authorization, X-Forwarded-*, traceparent). Node's default is 16 KiB.
 */
export const MAX_HEADER_BYTES = 3 * CLOUD_TASKS_HEADER_BYTES + 16 * 1024;
/** Longest lineage id: Cloud Tasks task names and envelope ids. */
export const MAX_ID_LENGTH = 500;

const CUT = '…[cut]';

/** `text` cut to at most `max` UTF-8 bytes, the cut marked; never splits a character. */
export function truncateText(text: string, max: number = MAX_TEXT_BYTES): string {
  if (text.length * 3 <= max || Buffer.byteLength(text) <= max) return text;
  const room = Math.max(0, max - Buffer.byteLength(CUT));
  let out = Buffer.from(text).subarray(0, room).toString('utf8');
  // A character split at the cut decodes to U+FFFD: drop it.
  if (out.endsWith('\uFFFD')) out = out.slice(0, -1);
  return out + CUT;
}

/** A key or value for an error message: JSON-quoted and short. */
export function quote(value: string, max = 64): string {
  return JSON.stringify(truncateText(value, max));
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this finds (Firestore and JSON consumers refuse it).
const UNSTORABLE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/g;

/** Lone surrogates and NUL (which Firestore cannot store) replaced by U+FFFD. */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE, '\uFFFD');
}

/** An error as it may be stored or sent: texts a job (or input) made are cut and made storable. */
export function boundError(error: ErrorInfo): ErrorInfo {
  const code = storableText(truncateText(String(error.code), 128));
  const message = storableText(truncateText(String(error.message), MAX_TEXT_BYTES));
  return code === error.code && message === error.message ? error : { ...error, code, message };
}

function jsonBytes(value: unknown): number | undefined {
  try {
    const json = JSON.stringify(value);
    return json === undefined ? 0 : Buffer.byteLength(json);
  } catch {
    return undefined; // cycles, BigInt, nesting too deep for the stack
  }
}

/** What replaces a value too large (or unserialisable) to keep. */
export function cutMarker(value: unknown, bytes: number | undefined): { truncated: true; bytes?: number; head?: string } {
  let head: string | undefined;
  try {
    head = JSON.stringify(value)?.slice(0, 1024);
  } catch {
    head = undefined;
  }
  return { truncated: true, ...(bytes !== undefined ? { bytes } : {}), ...(head !== undefined ? { head } : {}) };
}

/**
 * A record as it may be stored: error texts cut to MAX_TEXT_BYTES, and if the
 * whole is still over MAX_RECORD_BYTES, the result replaced by a marker and
 * then the oldest history dropped. `truncated` lists what was cut.
 */
export function boundRecord(record: LineageRecord, jsonAtMost?: number): LineageRecord {
  const cut = new Set(record.truncated ?? []);
  let out: LineageRecord = record;
  const edit = (patch: Partial<LineageRecord>) => {
    out = out === record ? { ...record, ...patch } : Object.assign(out, patch);
  };
  if (record.error) {
    const error = boundError(record.error);
    if (error !== record.error) {
      edit({ error });
      cut.add('error');
    }
  }
  if (record.history.some((h) => h.error && boundError(h.error) !== h.error)) {
    edit({ history: record.history.map((h) => (h.error ? { ...h, error: boundError(h.error) } : h)) });
    cut.add('history');
  }
  // The common record is far below the bound: one serialisation says so (this
  // runs on every ledger write), or, cheaper, the caller's upper bound of its
  // JSON bytes (cutting error texts only shrank it); only a record over the
  // bound is measured part by part.
  const whole = jsonAtMost !== undefined && jsonAtMost <= MAX_RECORD_BYTES ? jsonAtMost : jsonBytes(out);
  if (whole !== undefined && whole <= MAX_RECORD_BYTES) {
    if (cut.size > (record.truncated?.length ?? 0)) edit({ truncated: [...cut] });
    return out;
  }
  const resultBytes = out.result === undefined ? 0 : jsonBytes(out.result);
  if (resultBytes === undefined || (out.result !== undefined && (jsonBytes(out) ?? Infinity) > MAX_RECORD_BYTES)) {
    edit({ result: cutMarker(out.result, resultBytes) });
    cut.add('result');
  }
  while ((jsonBytes(out) ?? Infinity) > MAX_RECORD_BYTES && out.history.length > 1) {
    edit({ history: out.history.slice(Math.ceil(out.history.length / 2)) });
    cut.add('history');
  }
  if (cut.size > (record.truncated?.length ?? 0)) edit({ truncated: [...cut] });
  return out;
}

/** A notification as it may be sent: error text cut, result replaced by a marker when the event is too large. */
export function boundEvent(event: CloudEvent): CloudEvent {
  const data = event.data;
  let out = event;
  if (data.error) {
    const error = boundError(data.error);
    if (error !== data.error) out = { ...out, data: { ...out.data, error } };
  }
  if (out.data.result !== undefined && !((jsonBytes(out) ?? Infinity) <= MAX_RECORD_BYTES)) {
    const bytes = jsonBytes(out.data.result);
    if (bytes === undefined || (jsonBytes(out) ?? Infinity) > MAX_RECORD_BYTES) {
      out = { ...out, data: { ...out.data, result: cutMarker(out.data.result, bytes) } };
    }
  }
  return out;
}
