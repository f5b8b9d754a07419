// The push routes take the body as raw bytes whatever it claims to be: Cloud
// Tasks and Pub/Sub send what the submitter set, and a 415 or 413 here would
// only make them retry a task that can never succeed. The bytes are hashed as
// they stream in; past the route's limit they are no longer kept, only
// counted and hashed, so the delivery can still record the task (by hash)
// and acknowledge it.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';

export interface RawBody {
  /** The body; undefined when it was over `limit`. */
  bytes?: Buffer;
  size: number;
  /** Hex SHA-256 of the whole body as received. */
  sha256: string;
  limit: number;
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
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      hash.update(chunk);
      if (size <= limit) chunks.push(chunk);
      else chunks.length = 0; // over the limit: keep counting and hashing, not storing
    });
    stream.once('error', reject);
    stream.once('end', () => {
      const sha256 = hash.digest('hex');
      resolve(size <= limit ? { bytes: Buffer.concat(chunks, size), size, sha256, limit } : { size, sha256, limit });
    });
  });
}

export function isRawBody(v: unknown): v is RawBody {
  return typeof v === 'object' && v !== null && typeof (v as RawBody).sha256 === 'string' && typeof (v as RawBody).size === 'number';
}
