// Deterministic task ids for the hop of a lineage into the next tier. The same
// lineage and tier always give the same id, so a forwarder that retries after
// a crash hits ALREADY_EXISTS instead of creating a second task.
import { createHash } from 'node:crypto';
import { MAX_TASK_ID, TASK_ID } from '../schemas/task-id.ts';

/**
 * `${lineageId}-t${tier}` when that is a valid task id; otherwise (too long,
 * or characters Cloud Tasks refuses) a readable prefix plus a sha256 of the
 * lineage id, so two lineages never share a name by truncation.
 */
export function nextTierTaskName(lineageId: string, tier: number): string {
  if (!Number.isInteger(tier) || tier < 0) throw new RangeError(`tier must be a non-negative integer, got ${tier}`);
  const suffix = `-t${tier}`;
  const plain = `${lineageId}${suffix}`;
  if (lineageId.length > 0 && TASK_ID.test(plain)) return plain;
  return hashedTaskId(lineageId, suffix);
}

/**
 * A valid task id for an arbitrary string: the string's valid characters
 * (up to 100) for readability, then `-h` + a 64-hex sha256 of the whole
 * string, then `suffix` (which must itself be valid task-id characters).
 */
export function hashedTaskId(value: string, suffix = ''): string {
  const digest = createHash('sha256').update(value).digest('hex');
  const readable = value.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
  const id = `${readable}-h${digest}${suffix}`;
  if (id.length > MAX_TASK_ID || !TASK_ID.test(id)) throw new RangeError('task id suffix too long or invalid');
  return id;
}

/**
 * A valid task id for any string, deterministically: the string itself when
 * it is already a valid id, otherwise the hashed form (used for CloudEvent ids
 * `<lineage>/<event>`, whose '/' Cloud Tasks refuses).
 */
export function taskIdFor(value: string): string {
  if (TASK_ID.test(value)) return value;
  return hashedTaskId(value);
}
