// The job registry: job type name -> factory. Built once at start-up from the
// built-ins and the user's JOBS_MODULE; a name used twice is a configuration
// mistake, so it fails start-up instead of silently shadowing a job.
import type { JobRegistry } from '../interfaces.ts';
import type { JobFactory } from './define-job.ts';
import { UnknownJobType } from './errors.ts';

export function createRegistry(factories: readonly JobFactory[]): JobRegistry {
  const byType = new Map<string, JobFactory>();
  for (const f of factories) {
    if (typeof f?.type !== 'string' || f.type === '' || typeof f.make !== 'function') {
      throw new TypeError('job factory must have a non-empty string `type` and a `make()` function');
    }
    if (byType.has(f.type)) throw new Error(`job type "${f.type}" is registered twice`);
    byType.set(f.type, f);
  }
  return {
    make(type) {
      const f = byType.get(type);
      if (!f) throw new UnknownJobType(type);
      return f.make();
    },
    has: (type) => byType.has(type),
    types: () => [...byType.keys()],
  };
}
