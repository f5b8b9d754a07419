// Errors are classified by their fields (brand or { code, permanent }), never
// by class identity: a JOBS_MODULE that resolved its own copy of the package
// throws JobErrors of another class.
import t from 'tap';
import { BlobRefRefused } from '../../src/blobs/local-blob-store.ts';
import { isJobError, JOB_ERROR_BRAND, JobError, PermanentError, RetryableError, retryAfterOf, toErrorInfo } from '../../src/jobs/errors.ts';
import { LineageNotFound } from '../../src/ledger/lineage-not-found.ts';
import { createMemoryLedger } from '../../src/ledger/memory-ledger.ts';
import { harness } from '../delivery/app-harness.ts';

/** What a second copy of the package's PermanentError looks like: same brand, another class. */
class ForeignPermanentError extends Error {
  constructor(message: string) {
    super(message);
    Object.defineProperty(this, Symbol.for('executor.JobError'), { value: true });
  }
  readonly code = 'PermanentError';
  readonly permanent = true;
  readonly retryAfterSeconds = 30;
}

t.test('the brand is Symbol.for(executor.JobError), on every service error', async (t) => {
  t.equal(JOB_ERROR_BRAND, Symbol.for('executor.JobError'));
  for (const e of [new PermanentError('x'), new RetryableError('x'), new JobError('X', 'x', false), new LineageNotFound('l')]) {
    t.equal((e as unknown as Record<symbol, unknown>)[Symbol.for('executor.JobError')], true, e.constructor.name);
    t.ok(isJobError(e));
  }
});

t.test('toErrorInfo honours a foreign branded error and any { code, permanent }', async (t) => {
  t.same(toErrorInfo(new ForeignPermanentError('from another copy')), { code: 'PermanentError', message: 'from another copy', permanent: true });
  t.equal(retryAfterOf(new ForeignPermanentError('x')), 30, 'its retryAfterSeconds is kept');
  t.same(toErrorInfo(new BlobRefRefused('outside the store')), { code: 'BlobRefRefused', message: 'outside the store', permanent: true });
  t.same(toErrorInfo({ code: 'Plain', permanent: true, message: 'an object' }), { code: 'Plain', message: 'an object', permanent: true });
  t.same(toErrorInfo(new TypeError('boom')), { code: 'TypeError', message: 'boom', permanent: false }, 'unknown errors are retryable');
  t.same(toErrorInfo(Object.assign(new Error('grpc'), { code: 5 })), { code: 'Error', message: 'grpc', permanent: false }, 'a numeric code is not ours');
});

t.test('a delivery whose job throws a foreign PermanentError fails permanently; a foreign retryable one keeps its Retry-After', async (t) => {
  const s = harness(t, createMemoryLedger(), {
    behaviour: async (args) => {
      if (args.permanent) throw new ForeignPermanentError('nope');
      throw Object.assign(new Error('later'), { [Symbol.for('executor.JobError')]: true, code: 'RateLimited', permanent: false, retryAfterSeconds: 42 });
    },
  });
  const perm = await s.push({ type: 'work', args: { permanent: true } }, { 'x-cloudtasks-taskname': 'p1' });
  t.equal(perm.statusCode, 200);
  t.match(perm.json(), { outcome: 'failed', error: { code: 'PermanentError', permanent: true } });
  const retry = await s.push({ type: 'work', args: {} }, { 'x-cloudtasks-taskname': 'r1' });
  t.equal(retry.statusCode, 503);
  t.equal(retry.headers['retry-after'], '42');
  t.equal(retry.json().error.code, 'RateLimited');
});
