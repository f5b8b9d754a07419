import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createLocalBlobStore, maybeOffload, OFFLOAD_THRESHOLD_BYTES, resolveDataRef } from '../../src/blobs/index.ts';
import type { BlobStore } from '../../src/interfaces.ts';

const dir = mkdtempSync(join(tmpdir(), 'offload-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const local = createLocalBlobStore({ dir });

t.test('the default threshold is 512 KiB', async (t) => {
  t.equal(OFFLOAD_THRESHOLD_BYTES, 512 * 1024);
});

t.test('a value under the threshold stays inline', async (t) => {
  t.same(await maybeOffload(local, 'small', { a: 1 }, 100), { data: { a: 1 } });
});

t.test('a value over the threshold is stored and comes back through resolveDataRef', async (t) => {
  const value = { blob: 'x'.repeat(200) };
  const out = await maybeOffload(local, 'lin-1/data.json', value, 100);
  t.ok('dataRef' in out);
  const ref = (out as { dataRef: string }).dataRef;
  t.match(ref, /^file:\/\/\//);
  const bytes = await resolveDataRef({ file: local }, ref);
  t.same(JSON.parse(bytes.toString()), value);
});

t.test('without a store a large value stays inline', async (t) => {
  const value = 'y'.repeat(200);
  t.same(await maybeOffload(undefined, 'k', value, 100), { data: value });
});

t.test('resolveDataRef picks the store by scheme and refuses a scheme with no store', async (t) => {
  const seen: string[] = [];
  const gs: BlobStore = {
    put: async () => '',
    get: async (ref) => {
      seen.push(ref);
      return Buffer.from('from-gcs');
    },
    delete: async () => {},
    close: async () => {},
  };
  t.equal((await resolveDataRef({ gs, file: local }, 'gs://b/o')).toString(), 'from-gcs');
  t.same(seen, ['gs://b/o']);
  await t.rejects(resolveDataRef({ file: local }, 'gs://b/o'), { code: 'BlobRefRefused' });
  await t.rejects(resolveDataRef({ gs }, 'http://evil/x'), { code: 'BlobRefRefused' });
});
