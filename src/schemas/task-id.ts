// The one definition of a task id (DESIGN §2): lineage ids and Cloud Tasks
// task ids share this alphabet and length, so a lineage id is always a valid
// task name. Schemas use the pattern string, code the RegExp. The emulator
// keeps its own copy on purpose: it imports nothing of the worker.
import { Type } from '@sinclair/typebox';

export const MAX_TASK_ID = 500;
export const TASK_ID_PATTERN = `^[A-Za-z0-9_-]{1,${MAX_TASK_ID}}$`;
export const TASK_ID = new RegExp(TASK_ID_PATTERN);

/** A job's id leaves room for `-<index>` (at most 99,999 tasks), so each task's lineage id is a task id. */
export const MAX_JOB_ID = 400;
export const JOB_ID_PATTERN = `^[A-Za-z0-9_-]{1,${MAX_JOB_ID}}$`;
export const JOB_ID = new RegExp(JOB_ID_PATTERN);

/** A task-id string in a schema; `maxLength` lower where a suffix must still fit (a job id + `-<index>`). */
export const TaskIdString = (maxLength = MAX_TASK_ID) => Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+$' });
