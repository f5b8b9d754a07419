// Which failures of a notification or forward can never succeed by retrying:
// our own permanent errors, and Google's INVALID_ARGUMENT, NOT_FOUND and
// PERMISSION_DENIED (gRPC codes 3, 5, 7; HTTP 400, 403, 404 over REST).
// Anything else (unavailable, deadline, missing credentials) is transient.
import { isJobError } from '../jobs/errors.ts';

const PERMANENT_GRPC = new Set([3, 5, 7]);
const PERMANENT_STATUS = new Set(['INVALID_ARGUMENT', 'NOT_FOUND', 'PERMISSION_DENIED']);
const PERMANENT_HTTP = new Set([400, 403, 404]);

export function isPermanentSendError(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.length > 0 && err.errors.every(isPermanentSendError);
  if (isJobError(err)) return err.permanent;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; status?: unknown };
  if (typeof e.code === 'number' && PERMANENT_GRPC.has(e.code)) return true;
  if (typeof e.status === 'string' && PERMANENT_STATUS.has(e.status)) return true;
  if (typeof e.code === 'string' && PERMANENT_STATUS.has(e.code)) return true;
  if (typeof e.status === 'number' && PERMANENT_HTTP.has(e.status)) return true;
  return false;
}
