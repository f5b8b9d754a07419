import type { DeadLetter } from '../interfaces.ts';

/** listDeadLetters order in every backend: oldest first, then by key. */
export function byCreatedThenKey(a: DeadLetter, b: DeadLetter): number {
  return a.createdAt.localeCompare(b.createdAt) || a.key.localeCompare(b.key);
}
