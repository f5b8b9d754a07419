// finish() on a lineage the ledger does not hold (never begun, expired, or a
// memory ledger that restarted). Retryable: the next delivery begins it anew.
import { JOB_ERROR_BRAND } from '../jobs/errors.ts';

export class LineageNotFound extends Error {
  readonly [JOB_ERROR_BRAND] = true;
  readonly code = 'LineageNotFound';
  readonly permanent = false;
  readonly lineageId: string;

  constructor(lineageId: string) {
    super(`lineage "${lineageId}" not found in the ledger`);
    this.name = 'LineageNotFound';
    this.lineageId = lineageId;
  }
}
