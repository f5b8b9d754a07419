// Where output chunks live: the blob store when there is one (any instance
// reads what the running one wrote), else this process's memory, bounded.
import type { BlobStore } from '../interfaces.ts';

export interface ChunkStore {
  put(key: string, bytes: Buffer): Promise<void>;
  /** undefined when there is no such chunk (yet). */
  get(key: string): Promise<Buffer | undefined>;
}

/** `refOf(key)` is the reference `blobs.put(key)` returns, computed without writing (createDeps knows the backend). */
export function blobChunkStore(blobs: BlobStore, refOf: (key: string) => string): ChunkStore {
  return {
    async put(key, bytes) {
      await blobs.put(key, bytes, 'text/plain; charset=utf-8');
    },
    async get(key) {
      try {
        return await blobs.get(refOf(key));
      } catch {
        // Missing (not written yet, or deleted): the reader stops here and polls again.
        return undefined;
      }
    },
  };
}

/** Oldest chunks are dropped past `maxBytes` (default 64 MiB). */
export function memoryChunkStore(maxBytes = 64 * 1024 * 1024): ChunkStore {
  const chunks = new Map<string, Buffer>();
  let total = 0;
  return {
    async put(key, bytes) {
      const old = chunks.get(key);
      if (old) total -= old.length;
      chunks.set(key, bytes);
      total += bytes.length;
      for (const [k, v] of chunks) {
        if (total <= maxBytes) break;
        chunks.delete(k);
        total -= v.length;
      }
    },
    async get(key) {
      return chunks.get(key);
    },
  };
}

/**
 * Chunk `seq` of one attempt's output. The lineage's createdAt is part of the
 * key: a lineage id used again (dev's shared blob folder, a memory ledger that
 * restarted) must not read the chunks of an earlier run.
 */
export function chunkKey(id: string, createdAt: string, tier: number, attempt: number, seq: number): string {
  return `logs/${id}/${Date.parse(createdAt).toString(36)}/${tier}-${attempt}/${String(seq).padStart(6, '0')}`;
}
