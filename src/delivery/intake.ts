// The first thing that touches a pushed body: raw bytes in, a checked task
// envelope or an invalid-task error out. Nothing recursive runs on the body
// before its nesting is known to be shallow (the scan below is a loop over
// the text), and no string reaches a backend unless it is well-formed
// Unicode without NUL (Firestore refuses lone surrogates; NUL truncates C
// strings downstream). The raw bytes are only ever hashed, never stored.
import { createHash } from 'node:crypto';
import { InvalidTask, UnsupportedEncoding } from '../jobs/errors.ts';
import { MAX_JSON_DEPTH, MAX_KEY_BYTES, quote, truncateText } from '../limits.ts';
import { checkEnvelope, type ErrorInfo, type TaskEnvelope } from '../schemas/index.ts';

export type IntakeResult =
  | { ok: true; envelope: TaskEnvelope }
  /** `sha256`: hex digest of the raw body (the whole body, even when it was too large to keep). */
  | { ok: false; error: ErrorInfo; sha256: string };

/** Set by a route that already knows the body is unusable (over its limit, a bad Pub/Sub wrapper). */
export interface RejectedBody {
  reason: string;
  sha256: string;
  /** The error code it is recorded with; InvalidTask unless said. */
  code?: 'InvalidTask' | 'UnsupportedEncoding';
}

export function sha256Hex(bytes: Buffer | undefined): string {
  return createHash('sha256')
    .update(bytes ?? Buffer.alloc(0))
    .digest('hex');
}

/**
 * Parse and check one task body. Never throws. `receivedSha256`: the hash of
 * the bytes as received when `body` is their decoding (an unusable body is
 * keyed by what was received).
 */
export function intakeTask(body: Buffer | undefined, rejected?: RejectedBody, receivedSha256?: () => string): IntakeResult {
  if (rejected) return invalid(rejected.reason, rejected.sha256, rejected.code);
  const hash = () => receivedSha256?.() ?? sha256Hex(body);
  if (!body || body.length === 0) return invalid('empty body', hash());
  const parsed = parseJsonDefensively(body);
  if (!parsed.ok) return invalid(parsed.reason, hash());
  const checked = checkEnvelope(parsed.value);
  if (!checked.ok) return invalid(checked.reason, hash());
  return { ok: true, envelope: checked.envelope };
}

function invalid(reason: string, sha256: string, code: RejectedBody['code'] = 'InvalidTask'): IntakeResult {
  const error = code === 'UnsupportedEncoding' ? new UnsupportedEncoding(truncateText(reason)) : new InvalidTask(truncateText(reason));
  return { ok: false, error: error.toInfo(), sha256 };
}

/**
 * JSON.parse behind the checks that make its result safe to hand on: the
 * nesting depth (scanned on the text first), the key sizes, and every string
 * well-formed without NUL. Used for task bodies and Pub/Sub push wrappers.
 */
export function parseJsonDefensively(bytes: Buffer, maxDepth = MAX_JSON_DEPTH): { ok: true; value: unknown } | { ok: false; reason: string } {
  const text = bytes.toString('utf8');
  const depth = scanDepth(text, maxDepth);
  if (depth > maxDepth) return { ok: false, reason: `body nests deeper than ${maxDepth} levels` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const bad = findBadString(value);
  return bad ? { ok: false, reason: bad } : { ok: true, value };
}

/**
 * The deepest `[`/`{` nesting outside strings, stopping as soon as it passes
 * `limit`. A loop over the characters: it cannot overflow the stack however
 * the text is built, and it does not need the text to be valid JSON.
 */
export function scanDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/**
 * The first string or key that may not pass: a lone surrogate, a NUL, or a
 * key over MAX_KEY_BYTES. Iterative (an explicit stack), after the depth check.
 */
function findBadString(root: unknown): string | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: '' }];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      const problem = badText(value);
      if (problem) return `string at ${where(path)} ${problem}`;
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: `${path}/${i}` });
    } else if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value)) {
        const problem = Buffer.byteLength(key) > MAX_KEY_BYTES ? `is longer than ${MAX_KEY_BYTES} bytes` : badText(key);
        if (problem) return `key ${quote(key)} at ${where(path)} ${problem}`;
        stack.push({ value: (value as Record<string, unknown>)[key], path: `${path}/${truncateText(key, 64)}` });
      }
    }
  }
  return undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function badText(s: string): string | undefined {
  if (LONE_SURROGATE.test(s)) return 'holds a lone surrogate';
  if (s.includes('\u0000')) return 'holds a NUL character';
  return undefined;
}

function where(path: string): string {
  return path === '' ? '/' : truncateText(path, 256);
}
