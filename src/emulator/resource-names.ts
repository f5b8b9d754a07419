// Resource names: projects/{p}/locations/{l}/queues/{q}/tasks/{t}.
import { invalidArgument } from './google-error.ts';

export const QUEUE_ID = /^[A-Za-z0-9-]{1,100}$/;
export const TASK_ID = /^[A-Za-z0-9_-]{1,500}$/;

export interface QueueName {
  project: string;
  location: string;
  queue: string;
}

export function queuePath(n: QueueName): string {
  return `projects/${n.project}/locations/${n.location}/queues/${n.queue}`;
}

export function locationPath(project: string, location: string): string {
  return `projects/${project}/locations/${location}`;
}

export function parseQueueName(name: unknown): QueueName {
  const m = typeof name === 'string' ? /^projects\/([^/]+)\/locations\/([^/]+)\/queues\/([^/]+)$/.exec(name) : null;
  if (!m) throw invalidArgument(`Invalid resource field value in the request: queue name ${JSON.stringify(name)}`);
  if (!QUEUE_ID.test(m[3])) {
    throw invalidArgument(`Queue ID "${m[3]}" is invalid: it must match ${QUEUE_ID.source} (letters, numbers and hyphens, at most 100 characters).`);
  }
  return { project: m[1], location: m[2], queue: m[3] };
}

/** Short task id from a full task name, checked against the queue it must belong to. */
export function parseTaskName(name: unknown, queueFullName: string): string {
  const prefix = `${queueFullName}/tasks/`;
  if (typeof name !== 'string' || !name.startsWith(prefix)) {
    throw invalidArgument(`Task name ${JSON.stringify(name)} must be of the form ${prefix}TASK_ID`);
  }
  const id = name.slice(prefix.length);
  if (!TASK_ID.test(id)) throw invalidArgument(`Task ID "${id}" is invalid: it must match ${TASK_ID.source}.`);
  return id;
}
