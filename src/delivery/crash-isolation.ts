// Job isolation by AsyncLocalStorage attribution. Each job runs inside a
// scope; every timer, promise and emitter callback it creates inherits that
// scope, so a throw or rejection that escapes the job's own promise reaches
// the process-level handlers still carrying it. The handler fails only that
// delivery (JobCrashed, retryable) and the process keeps serving. Errors with
// no scope (a backend's stray rejection) are logged and the process stays up.
// Why this and not worker threads: README "Design decisions".
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';
import { JobCrashed } from '../jobs/errors.ts';

interface CrashScope {
  lineage: string;
  /** Fail the delivery; false once it already settled. */
  crash(err: unknown): boolean;
}

const scopes = new AsyncLocalStorage<CrashScope>();

/**
 * Run `fn` in a crash scope: resolves/rejects with `fn`, or rejects with
 * JobCrashed as soon as an error escapes from anything `fn` started.
 */
export function runIsolated<T>(lineage: string, fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const scope: CrashScope = {
      lineage,
      crash(err) {
        if (settled) return false;
        settled = true;
        const message = err instanceof Error ? err.message : String(err);
        reject(new JobCrashed(`the job threw outside its promise: ${message}`, { cause: err }));
        return true;
      },
    };
    scopes.run(scope, () => {
      let p: Promise<T>;
      try {
        p = fn();
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        (v) => {
          if (!settled) {
            settled = true;
            resolve(v);
          }
        },
        (e) => {
          if (!settled) {
            settled = true;
            reject(e);
          }
        },
      );
    });
  });
}

/** Attribute an escaped error to the job that started its async context. */
export function attributeCrash(err: unknown): { lineage?: string; failedDelivery: boolean } {
  const scope = scopes.getStore();
  if (!scope) return { failedDelivery: false };
  return { lineage: scope.lineage, failedDelivery: scope.crash(err) };
}

/**
 * The last-resort handlers: an escaped error fails its job's delivery (or is
 * logged when no job owns it); the process never exits for it. Returns the
 * uninstaller.
 */
export function installCrashHandlers(logger: Logger): () => void {
  const handle = (kind: 'uncaughtException' | 'unhandledRejection') => (err: unknown) => {
    const { lineage, failedDelivery } = attributeCrash(err);
    const info = { err: { message: err instanceof Error ? err.message : String(err), name: err instanceof Error ? err.name : typeof err }, kind };
    if (failedDelivery) logger.error({ ...info, lineage }, 'a job crashed outside its promise: only its delivery fails (JobCrashed)');
    else if (lineage) logger.error({ ...info, lineage }, 'a job crashed after its delivery ended; ignored');
    else logger.error(info, 'unhandled error outside any job; the process keeps running');
  };
  const onException = handle('uncaughtException');
  const onRejection = handle('unhandledRejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
