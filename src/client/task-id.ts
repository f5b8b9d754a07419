import { randomUUID } from 'node:crypto';

/** Lineage ids and Cloud Tasks task ids share this alphabet (DESIGN §2). */
export { TASK_ID } from '../schemas/task-id.ts';

/**
 * A fresh id that is a valid task name. Random, not time-ordered: Cloud Tasks
 * warns that sequential names (timestamps) concentrate load and slow the queue.
 */
export function newTaskId(): string {
  return randomUUID();
}
