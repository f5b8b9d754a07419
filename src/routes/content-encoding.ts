// A task created with `Content-Encoding: gzip` (or deflate, br) and a
// compressed body is pushed as it was created: header and bytes unchanged.
// The push routes decode it before intake, bounded like any body: every
// decoding step stops once its output passes the route's limit (zlib's
// maxOutputLength aborts the inflate there), so a small zip bomb costs at most
// the limit in memory and the time to inflate that much. Whatever cannot be
// decoded is an unusable body, recorded and acknowledged, never retried.
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, inflateRaw } from 'node:zlib';

type Decode = (buf: Buffer, opts: { maxOutputLength: number }) => Promise<Buffer>;

const inflateZlib = promisify(inflate) as Decode;
const inflateBare = promisify(inflateRaw) as Decode;

/** HTTP's deflate is zlib-wrapped (RFC 9110), but some senders send bare deflate: accepted too, as browsers do. */
const inflateEither: Decode = async (buf, opts) => {
  try {
    return await inflateZlib(buf, opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'Z_DATA_ERROR' || !/header check/.test((err as Error).message)) throw err;
    return inflateBare(buf, opts);
  }
};

const DECODERS: Record<string, Decode> = {
  gzip: promisify(gunzip) as Decode,
  'x-gzip': promisify(gunzip) as Decode,
  deflate: inflateEither,
  br: promisify(brotliDecompress) as Decode,
};

/** More codings than this on one body are refused (each layer holds a zlib context). */
export const MAX_CONTENT_CODINGS = 3;

export type DecodeResult =
  | { ok: true; bytes: Buffer }
  /** `code`: the error code the task is recorded with (InvalidTask, or UnsupportedEncoding). */
  | { ok: false; code: 'InvalidTask' | 'UnsupportedEncoding'; reason: string };

/** The codings of a Content-Encoding header in the order they were applied, `identity` dropped, lower-cased. */
export function contentCodings(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const joined = Array.isArray(header) ? header.join(',') : header;
  return joined
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

/** `bytes` with the codings undone (last applied, first undone); every step's output at most `limit` bytes. */
export async function decodeBody(bytes: Buffer, codings: string[], limit: number): Promise<DecodeResult> {
  const unknown = codings.find((c) => !Object.hasOwn(DECODERS, c));
  if (unknown !== undefined) {
    return { ok: false, code: 'UnsupportedEncoding', reason: `Content-Encoding ${JSON.stringify(unknown.slice(0, 64))} is not supported (gzip, deflate, br)` };
  }
  if (codings.length > MAX_CONTENT_CODINGS) {
    return { ok: false, code: 'UnsupportedEncoding', reason: `${codings.length} content codings; at most ${MAX_CONTENT_CODINGS} are decoded` };
  }
  let out = bytes;
  for (const coding of [...codings].reverse()) {
    try {
      out = await DECODERS[coding]!(out, { maxOutputLength: limit });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
        return { ok: false, code: 'InvalidTask', reason: `${coding} body decodes to more than the limit of ${limit} bytes` };
      }
      return { ok: false, code: 'InvalidTask', reason: `${coding} body is corrupt: ${String(e.message).slice(0, 200)}` };
    }
  }
  return { ok: true, bytes: out };
}
