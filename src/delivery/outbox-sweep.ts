// The outbox sweep: replays owed effects (notifications, forwards) that no
// later delivery came to replay, e.g. when the worker died between the
// ledger write and the send and Cloud Tasks then saw the task end some other
// way. Runs at start-up and every SWEEP_INTERVAL; with a shared ledger, one
// instance at a time (a named lease in the ledger).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AttemptLedger, Clock } from '../interfaces.ts';
import type { Effects } from './effects.ts';

export const SWEEP_LEASE = 'outbox-sweep';
/** Letters younger than this may still be in a live delivery's hands. */
export const SWEEP_MIN_AGE_MS = 30_000;

export interface OutboxSweep {
  /** One pass (if this instance gets the lease); what it replayed. */
  runOnce(): Promise<{ ran: boolean; redriven: number; failed: number; permanent: number }>;
  stop(): void;
}

export function startOutboxSweep(opts: {
  ledger: AttemptLedger;
  effects: Effects;
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  minAgeMs?: number;
  /** false: no timer (tests call runOnce). */
  schedule?: boolean;
}): OutboxSweep {
  const holder = randomUUID();
  const log = opts.logger.child({ component: 'outbox-sweep' });
  let running: Promise<{ ran: boolean; redriven: number; failed: number; permanent: number }> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const pass = async () => {
    if (!(await opts.ledger.tryLease(SWEEP_LEASE, holder, opts.intervalMs, opts.clock.now()))) return { ran: false, redriven: 0, failed: 0, permanent: 0 };
    const r = await opts.effects.redriveAll(undefined, log, { owedOnly: true, olderThanMs: opts.minAgeMs ?? SWEEP_MIN_AGE_MS });
    if (r.redriven || r.failed || r.permanent) log.info(r, 'outbox sweep replayed owed effects');
    return { ran: true, ...r };
  };

  const runOnce = () =>
    (running ??= pass()
      .catch((err) => {
        log.warn({ err: { message: (err as Error).message } }, 'outbox sweep failed; next pass later');
        return { ran: false, redriven: 0, failed: 0, permanent: 0 };
      })
      .finally(() => {
        running = undefined;
      }));

  if (opts.schedule !== false) {
    void runOnce();
    timer = setInterval(() => void runOnce(), opts.intervalMs);
    timer.unref();
  }
  return {
    runOnce,
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
