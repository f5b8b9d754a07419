// Cancel anywhere: POST /v1/tasks/:id/cancel marks the ledger on whichever
// instance received it; every instance polls the ledger for the lineages it
// runs and aborts those marked cancelled (the exec job then kills its process
// group). A poll per running lineage per interval: cheap next to the job, and
// the same code for both ledgers (no Firestore listener to keep alive).
import type { Logger } from 'pino';
import type { Delivery } from '../delivery/deliver.ts';
import type { AttemptLedger } from '../interfaces.ts';

export interface CancelWatchOptions {
  ledger: AttemptLedger;
  delivery: Pick<Delivery, 'abort'>;
  /** Lineage ids running in this process. */
  runningIds: () => Iterable<string>;
  logger: Logger;
  /** Default 1 s: a cancel reaches the job within about two intervals. */
  intervalMs?: number;
}

export function startCancelWatch(opts: CancelWatchOptions): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const ids = [...opts.runningIds()];
    await Promise.all(
      ids.map(async (id) => {
        try {
          const record = await opts.ledger.get(id);
          if (record?.state === 'cancelled' && opts.delivery.abort(id)) {
            opts.logger.info({ lineage: id }, 'cancelled elsewhere: running attempt aborted');
          }
        } catch (err) {
          opts.logger.warn({ err: { message: (err as Error).message }, lineage: id }, 'cancel check failed');
        }
      }),
    );
    if (!stopped) {
      timer = setTimeout(tick, opts.intervalMs ?? 1000);
      timer.unref();
    }
  };
  timer = setTimeout(tick, opts.intervalMs ?? 1000);
  timer.unref();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
