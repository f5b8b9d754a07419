// The submitter SDK: `import { Executor } from 'executor/client'`.
export { Executor, type ExecutorOptions, type JobSpec } from './executor.ts';
export { Result, type WatchOptions } from './result.ts';
export {
  OperatorClient,
  googleIdTokenSource,
  type OperatorClientOptions,
  type TaskStatus,
  type TaskSummary,
  type TaskList,
  type ListFilter,
  type ReplayReply,
  type OutputEvent,
  type CancelOutcome,
  type DeadLetterSummary,
  type RedriveOutcome,
  type IdTokenSource,
} from './operator-client.ts';
export { InvalidJobError, OperatorError, TaskFailedError, WatchTimeoutError } from './errors.ts';
export { newTaskId, TASK_ID } from './task-id.ts';
export type { LineageRecord, LineageState, TaskEnvelope, CloudEvent } from '../interfaces.ts';
