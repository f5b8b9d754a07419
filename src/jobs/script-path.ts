// Where an `exec` job's script may live: inside JOBS_DIR, reached without `..`,
// absolute paths, or symlinks that lead out of it (DESIGN §4; the seed worker
// ran any path it was sent, which is what this prevents).
import { realpath } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { PermanentError } from './errors.ts';

const notAllowed = (path: string, why: string) => new PermanentError(`path "${path}" is not allowed: ${why}`, { code: 'PathNotAllowed' });

/** The real path of `path` inside `jobsDir`, or a permanent PathNotAllowed / PathNotFound. */
export async function resolveScriptPath(jobsDir: string | undefined, path: string): Promise<string> {
  if (!jobsDir) throw notAllowed(path, 'JOBS_DIR is not set');
  if (path === '' || isAbsolute(path) || /^[a-zA-Z]:/.test(path)) throw notAllowed(path, 'must be relative to JOBS_DIR');
  if (path.split(/[\\/]/).includes('..')) throw notAllowed(path, '".." is not allowed');
  let root: string;
  let real: string;
  try {
    root = await realpath(jobsDir);
  } catch (err) {
    throw new PermanentError(`JOBS_DIR "${jobsDir}" is not usable: ${(err as Error).message}`, { code: 'PathNotAllowed', cause: err });
  }
  try {
    real = await realpath(join(root, path));
  } catch (err) {
    throw new PermanentError(`path "${path}" not found in JOBS_DIR`, { code: 'PathNotFound', cause: err });
  }
  // realpath follows every symlink, so this also catches links pointing out.
  if (real !== root && !real.startsWith(root.endsWith(sep) ? root : root + sep)) throw notAllowed(path, 'it leads outside JOBS_DIR');
  return real;
}
