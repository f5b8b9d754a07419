// Blob store in a local folder (BLOB_DIR): for `executor dev`, tests and
// single-machine deployments. References are `file:///abs/path`. Reads are
// confined to the folder: a reference outside it (`..`, another absolute
// path, a symlink leading out) is refused, because references arrive in
// task envelopes, which are input.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BlobStore } from '../interfaces.ts';

import { BlobRefRefused } from '../jobs/errors.ts';

export { BlobRefRefused };

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

export function createLocalBlobStore(opts: { dir: string }): BlobStore & { readonly dir: string } {
  const root = resolve(opts.dir);
  let realRoot: Promise<string> | undefined;
  const ensureRoot = () => (realRoot ??= mkdir(root, { recursive: true }).then(() => realpath(root)));

  function keyOf(ref: string): string {
    const rel = relative(root, pathOfSync(ref));
    return rel.split(sep).join('/');
  }

  function pathOfSync(ref: string): string {
    let path: string;
    try {
      if (!ref.startsWith('file://')) throw new Error('not a file:// reference');
      path = fileURLToPath(ref);
    } catch (err) {
      throw new BlobRefRefused(`not a file reference of this store: ${(err as Error).message.slice(0, 200)}`);
    }
    if (!inside(root, resolve(path))) throw new BlobRefRefused(`blob reference outside ${root} refused`);
    return resolve(path);
  }

  /** The absolute path a reference names, or a refusal. */
  async function pathOf(ref: string): Promise<string> {
    return pathOfSync(ref);
  }

  return {
    dir: root,
    keyOf,
    async put(key, bytes) {
      const path = resolve(join(root, key));
      if (!inside(root, path)) throw new BlobRefRefused(`blob key ${JSON.stringify(key)} leaves ${root}`);
      await ensureRoot();
      await mkdir(dirname(path), { recursive: true });
      // Write then rename: a reader never sees half a payload.
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
      return pathToFileURL(path).href;
    },
    async get(ref) {
      const path = await pathOf(ref);
      // Follow symlinks before trusting the location.
      const [real, rootReal] = await Promise.all([realpath(path), ensureRoot()]);
      if (!inside(rootReal, real)) throw new BlobRefRefused(`blob reference outside ${root} refused`);
      return readFile(real);
    },
    async delete(ref) {
      const path = await pathOf(ref);
      await rm(path, { force: true });
    },
    async close() {},
  };
}
