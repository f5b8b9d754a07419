// finish() on a lineage the ledger does not hold (never begun, expired, or a
// memory ledger that restarted). Retryable: the next delivery begins it anew.
export class LineageNotFound extends Error {
  readonly code = 'LineageNotFound';
  readonly permanent = false;
  readonly lineageId: string;

  constructor(lineageId: string) {
    super(`lineage "${lineageId}" not found in the ledger`);
    this.name = 'LineageNotFound';
    this.lineageId = lineageId;
  }
}
