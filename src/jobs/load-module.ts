// JOBS_MODULE: a user's module of extra job types. Its default export or its
// `jobs` export is a JobFactory (what defineJob returns) or an array of them.
// A module that cannot be used is a configuration error: start-up stops with
// one line naming JOBS_MODULE (exit 2), like any other bad variable.
import { readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../config.ts';
import type { JobFactory } from './define-job.ts';

const SHAPE = 'a default or `jobs` export that is a job factory (defineJob(...)) or an array of them';

/** Import `path` (absolute, or relative to the working directory; .js/.mjs/.ts) and return its job factories. */
export async function loadJobsModule(path: string): Promise<JobFactory[]> {
  const file = isAbsolute(path) ? path : resolve(process.cwd(), path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    const hint = loadedAsCommonJs(file, err)
      ? '; Node loads it as CommonJS: name it .mts or .mjs, or set "type": "module" in its package.json (npm pkg set type=module)'
      : '';
    throw new ConfigError('JOBS_MODULE', `"${path}" cannot be loaded: ${(err as Error).message.split('\n')[0]}${hint}`, { cause: err });
  }
  const exported = mod.jobs ?? mod.default;
  if (exported === undefined) throw new ConfigError('JOBS_MODULE', `"${path}" has no jobs: expected ${SHAPE}`);
  const list = Array.isArray(exported) ? exported : [exported];
  list.forEach((f, i) => {
    if (!isJobFactory(f)) {
      const where = Array.isArray(exported) ? `item ${i} of the export` : 'the export';
      throw new ConfigError('JOBS_MODULE', `"${path}": ${where} is not a job factory (needs a string \`type\` and a \`make()\` function); expected ${SHAPE}`);
    }
  });
  if (list.length === 0) throw new ConfigError('JOBS_MODULE', `"${path}" exports an empty list of jobs`);
  return list as JobFactory[];
}

function isJobFactory(v: unknown): v is JobFactory {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as JobFactory).type === 'string' &&
    (v as JobFactory).type !== '' &&
    typeof (v as JobFactory).make === 'function'
  );
}

/**
 * `npm init -y` writes "type": "commonjs", under which a .ts or .js file written
 * as an ES module fails to load; Node says so in several ways (a SyntaxError
 * without a code, or an ERR_REQUIRE_* error), so the cause is read from the
 * nearest package.json instead.
 */
function loadedAsCommonJs(file: string, err: unknown): boolean {
  if (!['.js', '.ts'].includes(extname(file))) return false;
  const code = (err as { code?: unknown }).code;
  if (!(err instanceof SyntaxError) && !(typeof code === 'string' && code.startsWith('ERR_REQUIRE'))) return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown }).type !== 'module';
    } catch {
      if (dirname(dir) === dir) return true; // no package.json: CommonJS
    }
  }
}
