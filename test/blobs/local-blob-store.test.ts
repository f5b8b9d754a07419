import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { createLocalBlobStore } from '../../src/blobs/local-blob-store.ts';

function tempDir(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'blobs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('put returns a file:/// reference that get reads back byte for byte', async (t) => {
  const dir = tempDir(t);
  const store = createLocalBlobStore({ dir });
  const bytes = Buffer.from([0, 1, 2, 255, 10]);
  const ref = await store.put('lin-1/payload.json', bytes);
  t.match(ref, /^file:\/\/\//);
  t.ok(ref.endsWith('/lin-1/payload.json'));
  t.same(await store.get(ref), bytes);
});

t.test('get refuses a reference outside the folder', async (t) => {
  const dir = tempDir(t);
  const outside = tempDir(t);
  writeFileSync(join(outside, 'secret'), 'x');
  const store = createLocalBlobStore({ dir });
  await t.rejects(store.get(pathToFileURL(join(outside, 'secret')).href), { code: 'BlobRefRefused' });
  await t.rejects(store.get(`${pathToFileURL(dir).href}/../${outside.split('/').pop()}/secret`), { code: 'BlobRefRefused' });
  await t.rejects(store.get('file:///etc/passwd'), { code: 'BlobRefRefused' });
  await t.rejects(store.get('gs://b/o'), { code: 'BlobRefRefused' });
});

t.test('get refuses a symlink inside the folder that leads out of it', async (t) => {
  const dir = tempDir(t);
  const outside = tempDir(t);
  writeFileSync(join(outside, 'secret'), 'x');
  symlinkSync(join(outside, 'secret'), join(dir, 'link'));
  const store = createLocalBlobStore({ dir });
  await t.rejects(store.get(pathToFileURL(join(dir, 'link')).href), { code: 'BlobRefRefused' });
});

t.test('put refuses a key that climbs out of the folder', async (t) => {
  const dir = tempDir(t);
  const store = createLocalBlobStore({ dir });
  await t.rejects(store.put('../escape', Buffer.from('x')), { code: 'BlobRefRefused' });
  t.notOk(existsSync(join(dir, '..', 'escape')));
});

t.test('delete removes the blob and a second delete succeeds too', async (t) => {
  const dir = tempDir(t);
  const store = createLocalBlobStore({ dir });
  const ref = await store.put('k', Buffer.from('v'));
  await store.delete(ref);
  await t.rejects(store.get(ref), { code: 'ENOENT' });
  await t.resolves(store.delete(ref));
});
