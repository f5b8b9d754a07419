// Blob store in a Cloud Storage bucket (BUCKET). References are
// `gs://bucket/key`; objects live under `prefix` (default `payloads/`).
//
// Writes are create-if-absent (ifGenerationMatch: 0). Keys are deterministic
// (a lineage's payload, a job's output), so a forwarder that retries after a
// crash writes the same bytes under the same key: the 412 it then gets means
// "already there" and counts as success. That also makes the upload
// idempotent, so the client may retry it on 5xx. Reads are confined to this
// bucket, because references arrive in task envelopes, which are input.
import { Storage } from '@google-cloud/storage';
import type { BlobStore } from '../interfaces.ts';
import { BlobRefRefused } from '../jobs/errors.ts';

export interface GcsBlobStoreOptions {
  bucket: string;
  /** A ready client; otherwise one is created (ADC; STORAGE_EMULATOR_HOST is read by the client). */
  storage?: Storage;
  prefix?: string;
}

export function parseGsRef(ref: string): { bucket: string; key: string } {
  const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(ref);
  if (!m) throw new BlobRefRefused(`not a gs:// reference: ${JSON.stringify(ref.slice(0, 200))}`);
  return { bucket: m[1]!, key: m[2]! };
}

function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function createGcsBlobStore(opts: GcsBlobStoreOptions): BlobStore {
  const storage = opts.storage ?? new Storage();
  const bucket = storage.bucket(opts.bucket);
  const prefix = opts.prefix ?? 'payloads/';

  const objectOf = (ref: string) => {
    const { bucket: b, key } = parseGsRef(ref);
    if (b !== opts.bucket) throw new BlobRefRefused(`blob reference in bucket ${b} refused (this store uses ${opts.bucket})`);
    return bucket.file(key);
  };

  return {
    keyOf(ref) {
      const { bucket: b, key } = parseGsRef(ref);
      if (b !== opts.bucket) throw new BlobRefRefused(`blob reference in bucket ${b.slice(0, 100)} refused (this store uses ${opts.bucket})`);
      if (!key.startsWith(prefix)) throw new BlobRefRefused(`blob reference outside ${prefix} refused`);
      return key.slice(prefix.length);
    },
    async put(key, bytes, contentType) {
      const name = `${prefix}${key}`;
      try {
        await bucket.file(name).save(bytes, {
          resumable: false,
          ...(contentType ? { contentType } : {}),
          preconditionOpts: { ifGenerationMatch: 0 },
        });
      } catch (err) {
        if (httpCode(err) !== 412) throw err;
        // Precondition failed: the object exists already (a retried put of the same key).
      }
      return `gs://${opts.bucket}/${name}`;
    },
    async get(ref) {
      const [bytes] = await objectOf(ref).download();
      return bytes;
    },
    async delete(ref) {
      await objectOf(ref).delete({ ignoreNotFound: true });
    },
    async close() {
      // Storage holds no open connections of its own beyond the shared agent.
    },
  };
}
