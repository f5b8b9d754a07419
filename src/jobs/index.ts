// The jobs folder's public surface: the contract helpers, the registry, the
// built-in job types and the loader of a user's JOBS_MODULE.

import type { JobFactory } from './define-job.ts';
import { echoJob } from './echo-job.ts';
import { execJob } from './exec-job.ts';
import { httpJob } from './http-job.ts';

export { defineJob, isJobResult, type JobDefinition, type JobFactory, type JobRunContext } from './define-job.ts';
export { echoJob } from './echo-job.ts';
export * from './errors.ts';
export { type ExecJobOptions, type ExecOutput, execJob } from './exec-job.ts';
export { type HttpJobOptions, httpJob } from './http-job.ts';
export { loadJobsModule } from './load-module.ts';
export { createRegistry } from './registry.ts';

export interface BuiltinJobsOptions {
  /** HTTP_JOB_ALLOW; empty = every http job refused. */
  httpAllow: string[];
  /** EXEC_COMMANDS; empty = every exec job refused. */
  execCommands: string[];
  /** JOBS_DIR. */
  jobsDir?: string;
  execPermanentExitCodes?: number[];
  /** Variables every exec child gets (PATH, HOME, LANG); default: standard PATH, HOME, LANG=C.UTF-8. */
  execEnv?: Record<string, string>;
  /** SIGTERM to SIGKILL for exec jobs (config: at most half of SHUTDOWN_GRACE). */
  execKillGraceMs?: number;
  /** Live exec output, e.g. for an output endpoint. */
  onExecOutput?: (out: { id: string; stream: 'stdout' | 'stderr'; chunk: string }) => void;
}

/** echo, http and exec, configured from the job sandbox settings (DESIGN §5). */
export function builtinJobs(opts: BuiltinJobsOptions): JobFactory[] {
  return [
    echoJob(),
    httpJob({ allow: opts.httpAllow }),
    execJob({
      commands: opts.execCommands,
      ...(opts.jobsDir !== undefined ? { jobsDir: opts.jobsDir } : {}),
      ...(opts.execPermanentExitCodes ? { permanentExitCodes: opts.execPermanentExitCodes } : {}),
      ...(opts.execEnv ? { env: opts.execEnv } : {}),
      ...(opts.execKillGraceMs !== undefined ? { killGraceMs: opts.execKillGraceMs } : {}),
      ...(opts.onExecOutput ? { onOutput: opts.onExecOutput } : {}),
    }),
  ];
}
