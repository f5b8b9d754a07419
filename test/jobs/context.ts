// A JobContext for job tests: silent logger, attempt 1 of 3, a fresh signal.
import pino from 'pino';
import type { JobContext } from '../../src/interfaces.ts';

export function jobContext(over: Partial<JobContext> = {}): JobContext {
  return {
    id: 'lineage-1',
    attempt: 1,
    maxAttempts: 3,
    final: false,
    tier: 0,
    signal: new AbortController().signal,
    log: pino({ level: 'silent' }),
    ...over,
  };
}
