// Which blob a task may read. A dataRef arrives in the envelope, which is
// input: any submitter could name another lineage's payload or output and
// read it (and, since an ended lineage deletes its payload, destroy it). So a
// reference is honoured only when it is this lineage's own payload
// (`payloads/<id>` or `payloads/<id>.json` in the configured store, the keys
// the forwarder and the SDK write), or when it carries a signature made with
// BLOB_REF_KEY for this lineage: `<ref>#sig=<hex HMAC-SHA256 of "<id>\n<ref>">`.
// Outputs (`outputs/<id>.json`) are never a dataRef: they are read through
// GET /v1/tasks/<id>/result only.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BlobStore } from '../interfaces.ts';
import { BlobRefRefused } from '../jobs/errors.ts';

export type DataRefScope = 'own' | 'signed';

const SIG = /#sig=([0-9a-f]{64})$/;

/** The reference without its signature, and the signature if any. */
export function splitDataRef(ref: string): { ref: string; sig?: string } {
  const m = SIG.exec(ref);
  return m ? { ref: ref.slice(0, m.index), sig: m[1]! } : { ref };
}

/** A reference to a blob outside the lineage's own payload, signed for lineage `id`. */
export function signDataRef(ref: string, id: string, key: string): string {
  return `${splitDataRef(ref).ref}#sig=${hmac(ref.replace(SIG, ''), id, key)}`;
}

function hmac(ref: string, id: string, key: string): string {
  return createHmac('sha256', key).update(`${id}\n${ref}`).digest('hex');
}

/**
 * How `ref` may be read by lineage `id`, or a BlobRefRefused (permanent).
 * Returns the bare reference to hand to the store.
 */
export function scopeDataRef(store: BlobStore, ref: string, id: string, key: string | undefined): { ref: string; scope: DataRefScope } {
  const { ref: bare, sig } = splitDataRef(ref);
  if (sig !== undefined) {
    if (!key) throw new BlobRefRefused('signed blob reference refused: BLOB_REF_KEY is not set');
    const want = Buffer.from(hmac(bare, id, key), 'hex');
    if (!timingSafeEqual(want, Buffer.from(sig, 'hex'))) throw new BlobRefRefused('blob reference signature is not valid for this task');
    return { ref: bare, scope: 'signed' };
  }
  const objectKey = store.keyOf?.(bare);
  if (objectKey === `payloads/${id}` || objectKey === `payloads/${id}.json`) return { ref: bare, scope: 'own' };
  throw new BlobRefRefused(`blob reference refused: a task may read only its own payload (payloads/${id}) or a reference signed with BLOB_REF_KEY`);
}
