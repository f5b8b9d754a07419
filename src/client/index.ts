// The submitter SDK: `import { Executor } from 'cloud-tasks-executor/client'`.

export { signDataRef } from '../blobs/ref-scope.ts';
export type { CloudEvent, LineageRecord, LineageState, TaskEnvelope } from '../interfaces.ts';
export type { JobStatus, JobTaskStatus } from '../schemas/index.ts';
export { InvalidJobError, JobFailedError, JobWatchTimeoutError, OperatorError, TaskFailedError, WatchTimeoutError } from './errors.ts';
export { Executor, type ExecutorOptions, type GcpContext, type JobCancelOutcome, type JobSpec } from './executor.ts';
export { JOB_STATES, Job, type JobInit, type JobStateName, Task, type TaskSpec } from './job.ts';
export { JobResult, type JobWatchOptions } from './job-result.ts';
export {
  type CancelOutcome,
  type DeadLetterSummary,
  googleIdTokenSource,
  type IdTokenSource,
  type ListFilter,
  OperatorClient,
  type OperatorClientOptions,
  type OutputEvent,
  type RedriveOutcome,
  type ReplayReply,
  type TaskList,
  type TaskStatus,
  type TaskSummary,
} from './operator-client.ts';
export { Result, type WatchOptions } from './result.ts';
export { newTaskId, TASK_ID } from './task-id.ts';
