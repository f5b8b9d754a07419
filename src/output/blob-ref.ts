// The reference BlobStore.put(key) returns, computed without a write, so an
// instance can read output chunks another instance wrote. Mirrors the two
// stores' naming (gcs-blob-store.ts: `payloads/` prefix; local-blob-store.ts: file URL).
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config.ts';

export function blobRefOf(config: Pick<Config, 'blobs'>): (key: string) => string {
  const { bucket, dir } = config.blobs;
  if (bucket) return (key) => `gs://${bucket}/payloads/${key}`;
  if (dir) return (key) => pathToFileURL(resolve(join(dir, key))).href;
  throw new Error('no blob store configured');
}
