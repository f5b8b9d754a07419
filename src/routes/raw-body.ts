// The push routes take the body as raw bytes whatever it claims to be: Cloud
// Tasks and Pub/Sub send what the submitter set, and a 415 or 413 here would
// only make them retry a task that can never succeed. Past the route's limit
// the bytes are no longer kept, only counted and hashed as they stream in, so
// the delivery can still record the task (by hash) and acknowledge it. A body
// within the limit is hashed only when asked (an unusable one is keyed by it).
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';

export interface RawBody {
  /** The body; undefined when it was over `limit`. */
  bytes?: Buffer;
  size: number;
  /** Hex SHA-256 of the whole body as received (computed when first read, for a body that was kept). */
  readonly sha256: string;
  limit: number;
}

/** A kept body is hashed only if something asks (an unusable task is keyed by its hash); one over the limit was hashed as it streamed. */
class ReceivedBody implements RawBody {
  readonly bytes?: Buffer;
  readonly size: number;
  readonly limit: number;
  #sha256: string | undefined;
  constructor(size: number, limit: number, bytes: Buffer | undefined, sha256: string | undefined) {
    this.size = size;
    this.limit = limit;
    if (bytes) this.bytes = bytes;
    this.#sha256 = sha256;
  }
  get sha256(): string {
    this.#sha256 ??= createHash('sha256')
      .update(this.bytes ?? Buffer.alloc(0))
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
  app.addContentTypeParser('*', (_req, payload, done) => {
    readRawBody(payload, limit).then(
      (body) => done(null, body),
      (err: Error) => done(err, undefined),
    );
  });
}

export function readRawBody(stream: Readable, limit: number): Promise<RawBody> {
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
