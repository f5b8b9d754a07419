import { randomUUID } from 'node:crypto';

/** Lineage ids and Cloud Tasks task ids share this alphabet (DESIGN §2). */
export const TASK_ID = /^[A-Za-z0-9_-]{1,500}$/;

/**
 * A fresh id that is a valid task name. Random, not time-ordered: Cloud Tasks
 * warns that sequential names (timestamps) concentrate load and slow the queue.
 */
export function newTaskId(): string {
  return randomUUID();
}
