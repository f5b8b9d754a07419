// Payload offload: the client and the forwarder move payloads over the
// threshold to a blob store and carry a `dataRef`; the worker resolves it.
import type { BlobStore } from '../interfaces.ts';
import { BlobRefRefused } from '../jobs/errors.ts';

export * from './gcs-blob-store.ts';
export * from './local-blob-store.ts';
export * from './ref-scope.ts';

/** Cloud Tasks caps a task at 1 MiB; payloads above this go to the blob store. */
export const OFFLOAD_THRESHOLD_BYTES = 512 * 1024;

/** The store for a reference's scheme (`gs` or `file`). */
export function resolveDataRef(stores: { gs?: BlobStore; file?: BlobStore }, ref: string): Promise<Buffer> {
  const scheme = /^([a-z]+):\/\//.exec(ref)?.[1];
  const store = scheme === 'gs' ? stores.gs : scheme === 'file' ? stores.file : undefined;
  if (!store) return Promise.reject(new BlobRefRefused(`no blob store configured for ${scheme ? `${scheme}://` : 'this'} reference`));
  return store.get(ref);
}

/**
 * `{data}` when the JSON of `value` fits under `threshold` bytes, otherwise the
 * JSON is stored under `key` and `{dataRef}` returned. Without a store a large
 * value stays inline (Cloud Tasks then refuses it if over 1 MiB).
 */
export async function maybeOffload(
  store: BlobStore | undefined,
  key: string,
  value: unknown,
  threshold: number = OFFLOAD_THRESHOLD_BYTES,
): Promise<{ data: unknown } | { dataRef: string }> {
  if (value === undefined) return { data: value };
  const json = Buffer.from(JSON.stringify(value));
  if (!store || json.length <= threshold) return { data: value };
  return { dataRef: await store.put(key, json, 'application/json') };
}
