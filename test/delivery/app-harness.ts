// buildApp over a given ledger with recording doubles, for the reliability
// tests: the same ledger can back several "processes" (apps), as Firestore
// backs several instances, so a crash is a new app over the old state.
import pino from 'pino';
import { buildApp, type Deps } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { AttemptLedger, JobContext, JobResult, Notifier, TaskQueue } from '../../src/interfaces.ts';
import { createRegistry } from '../../src/jobs/registry.ts';
import { manualClock, RecordingNotifier, RecordingQueue, scriptedJob } from '../helpers/doubles.ts';

export type Behaviour = (args: Record<string, unknown>, data: unknown, ctx: JobContext) => Promise<JobResult>;

export function harness(
  t: { teardown(fn: () => unknown): void },
  ledger: AttemptLedger,
  opts: {
    env?: Record<string, string>;
    behaviour?: Behaviour;
    clock?: ReturnType<typeof manualClock>;
    notifier?: Notifier;
    queue?: TaskQueue;
  } = {},
) {
  const config = loadConfig(
    { CHAIN: 'incoming:3,incoming-2:2', SERVICE_URL: 'http://worker.test', NOTIFY_ON: 'all', GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'l', ...opts.env },
    'dev',
  );
  const recordingQueue = new RecordingQueue();
  const recordingNotifier = new RecordingNotifier();
  const clock = opts.clock ?? manualClock(Date.now());
  const job = scriptedJob('work', opts.behaviour ?? (async () => ({ state: 'succeeded', result: { ok: true } })));
  const deps: Deps = {
    ledger,
    queue: opts.queue ?? recordingQueue,
    notifier: opts.notifier ?? recordingNotifier,
    registry: createRegistry([job]),
    clock,
    logger: pino({ level: 'silent' }),
  };
  const built = buildApp(config, deps);
  t.teardown(() => built.app.close());
  const push = (body: unknown, headers: Record<string, string> = {}) =>
    built.app.inject({
      method: 'POST',
      url: '/tasks',
      headers: { 'x-cloudtasks-queuename': 'incoming', 'x-cloudtasks-taskname': 'task-1', ...headers },
      payload: JSON.stringify(body),
    });
  return { config, queue: recordingQueue, notifier: recordingNotifier, clock, job, built, push, deps };
}

export const retryHeaders = (retry: number) => ({ 'x-cloudtasks-taskretrycount': String(retry), 'x-cloudtasks-taskexecutioncount': String(retry) });
