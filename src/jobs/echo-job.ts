// The `echo` job: returns what it was given. For smoke tests, `executor dev`
// and benchmarks; its optional args make it fail or wait on demand so tests
// can drive every delivery path without a custom job type.
//
// args (all optional):
//   fail:             'retryable' | 'permanent' -- fail every attempt that way
//   failUntilAttempt: N -- fail retryably while ctx.attempt < N (attempts count
//                     per tier, so N > a tier's maxAttempts walks the chain)
//   sleepMs:          wait this long first; aborts early on ctx.signal
//
// result: { data, args }

import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from '@sinclair/typebox';
import { defineJob, type JobFactory } from './define-job.ts';
import { PermanentError, RetryableError } from './errors.ts';

export const EchoArgs = Type.Object({
  fail: Type.Optional(Type.Union([Type.Literal('retryable'), Type.Literal('permanent')])),
  failUntilAttempt: Type.Optional(Type.Integer({ minimum: 0 })),
  sleepMs: Type.Optional(Type.Integer({ minimum: 0 })),
});

export function echoJob(): JobFactory {
  return defineJob({
    type: 'echo',
    args: EchoArgs,
    async run(args, data, ctx) {
      if (args.sleepMs) {
        ctx.setStatus(`sleeping ${args.sleepMs}ms`);
        // Rejects with the signal's reason (timeout, shutdown, stop) when aborted.
        await sleep(args.sleepMs, undefined, { signal: ctx.signal }).catch((err: unknown) => {
          throw ctx.signal.aborted ? ctx.signal.reason : err;
        });
      }
      if (args.fail === 'permanent') throw new PermanentError('echo asked to fail permanently', { code: 'EchoFailed' });
      if (args.fail === 'retryable') throw new RetryableError('echo asked to fail retryably', { code: 'EchoFailed' });
      if (args.failUntilAttempt !== undefined && ctx.attempt < args.failUntilAttempt) {
        throw new RetryableError(`echo fails until attempt ${args.failUntilAttempt} (this is ${ctx.attempt})`, { code: 'EchoFailed' });
      }
      return { data, args };
    },
  });
}
