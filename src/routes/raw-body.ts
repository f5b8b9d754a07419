// The push routes take the body as raw bytes whatever it claims to be: Cloud
// Tasks and Pub/Sub send what the submitter set, and a 415 or 413 here would
// only make them retry a task that can never succeed. Past the route's limit
// the bytes are no longer kept, only counted and hashed as they stream in, so
// the delivery can still record the task (by hash) and acknowledge it. A body
// within the limit is hashed only when asked (an unusable one is keyed by it).
// A Content-Encoding (gzip, deflate, br) is undone before intake, with the
// limit on the decoded size (content-encoding.ts); the hash stays the one of
// the bytes as received.
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { contentCodings, decodeBody } from './content-encoding.ts';

export interface RawBody {
  /** The body, decoded when it had a Content-Encoding; undefined when it cannot be used (`rejection` says why). */
  bytes?: Buffer;
  /** Bytes received. */
  size: number;
  /** Why the body cannot be used: over the limit (received or decoded), an unknown or corrupt encoding. */
  rejection?: BodyRejection;
  /** Hex SHA-256 of the whole body as received (computed when first read, for a body that was kept). */
  readonly sha256: string;
  limit: number;
}

export interface BodyRejection {
  code: 'InvalidTask' | 'UnsupportedEncoding';
  reason: string;
}

/** A kept body is hashed only if something asks (an unusable task is keyed by its hash); one over the limit was hashed as it streamed. */
class ReceivedBody implements RawBody {
  readonly bytes?: Buffer;
  readonly size: number;
  readonly limit: number;
  readonly rejection?: BodyRejection;
  #sha256: string | undefined;
  /** The bytes as received, when `bytes` is their decoding. */
  readonly #received: Buffer | undefined;
  constructor(size: number, limit: number, bytes: Buffer | undefined, sha256: string | undefined, decoded?: { received: Buffer; rejection?: BodyRejection }) {
    this.size = size;
    this.limit = limit;
    if (bytes) this.bytes = bytes;
    this.#sha256 = sha256;
    this.#received = decoded?.received;
    if (decoded?.rejection) this.rejection = decoded.rejection;
    else if (!bytes) this.rejection = { code: 'InvalidTask', reason: `body of ${size} bytes is over the limit of ${limit}` };
  }
  /** The same body decoded (or refused); its hash stays that of the bytes received. */
  decoded(result: { ok: true; bytes: Buffer } | { ok: false; code: BodyRejection['code']; reason: string }): ReceivedBody {
    const received = this.bytes ?? Buffer.alloc(0);
    const rejection = result.ok ? undefined : { code: result.code, reason: result.reason };
    return new ReceivedBody(this.size, this.limit, result.ok ? result.bytes : undefined, this.#sha256, { received, ...(rejection ? { rejection } : {}) });
  }
  get sha256(): string {
    this.#sha256 ??= createHash('sha256')
      .update(this.#received ?? this.bytes ?? Buffer.alloc(0))
      .digest('hex');
    return this.#sha256;
  }
}

/** In this plugin scope, every Content-Type (or none, or a malformed one) reads as a RawBody. */
export function acceptAnyBody(app: FastifyInstance, limit: number): void {
  app.removeAllContentTypeParsers();
  // Fastify answers 415 for a malformed Content-Type before any parser runs;
  // the header says nothing the delivery uses, so it is dropped here.
  app.addHook('onRequest', async (req) => {
    delete req.raw.headers['content-type'];
  });
  app.addContentTypeParser('*', (req, payload, done) => {
    readRawBody(payload, limit, req.headers['content-encoding']).then(
      (body) => done(null, body),
      (err: Error) => done(err, undefined),
    );
  });
}

/** The body of `stream`, decoded per `contentEncoding`; past `limit` (received or decoded) only counted and hashed. */
export async function readRawBody(stream: Readable, limit: number, contentEncoding?: string | string[]): Promise<RawBody> {
  const received = await receive(stream, limit);
  const codings = contentCodings(contentEncoding);
  if (codings.length === 0 || !received.bytes || received.bytes.length === 0) return received;
  return received.decoded(await decodeBody(received.bytes, codings, limit));
}

function receive(stream: Readable, limit: number): Promise<ReceivedBody> {
  return new Promise((resolve, reject) => {
    // Created only once the body passes the limit: then the bytes are dropped and only the hash can key it.
    let hash: Hash | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (hash) {
        hash.update(chunk);
        return;
      }
      chunks.push(chunk);
      if (size > limit) {
        hash = createHash('sha256');
        for (const c of chunks) hash.update(c);
        chunks.length = 0; // over the limit: keep counting and hashing, not storing
      }
    });
    stream.once('error', reject);
    stream.once('end', () => {
      resolve(hash ? new ReceivedBody(size, limit, undefined, hash.digest('hex')) : new ReceivedBody(size, limit, Buffer.concat(chunks, size), undefined));
    });
  });
}

export function isRawBody(v: unknown): v is RawBody {
  return v instanceof ReceivedBody;
}
