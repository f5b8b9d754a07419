// The submitter SDK: `import { Executor } from 'cloud-tasks-executor/client'`.
export { Executor, type ExecutorOptions, type JobSpec, type GcpContext, type JobCancelOutcome } from './executor.ts';
export { Job, Task, JOB_STATES, type JobStateName, type TaskSpec, type JobInit } from './job.ts';
export { JobResult, type JobWatchOptions } from './job-result.ts';
export type { JobStatus, JobTaskStatus } from '../schemas/index.ts';
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
export { InvalidJobError, OperatorError, TaskFailedError, WatchTimeoutError, JobFailedError, JobWatchTimeoutError } from './errors.ts';
export { newTaskId, TASK_ID } from './task-id.ts';
export type { LineageRecord, LineageState, TaskEnvelope, CloudEvent } from '../interfaces.ts';
export { signDataRef } from '../blobs/ref-scope.ts';
