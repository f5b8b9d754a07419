// The JOBS_MODULE of `npm run chaos`. `chaos` reports each run's start and end
// to the chaos recorder (to detect overlapping runs of one lineage, and to hold
// the ledger's record of each attempt to what the job returned) and behaves by
// plan; `poison` kills its worker, every time.
import { randomUUID } from 'node:crypto';
import { plainJob as job } from '../test/fixtures/plain-job.ts';

/**
 * Tell the recorder; keep trying (the same body, so `at` stays the job's own
 * clock) until it answers: a report lost under load once read as a run that
 * never ended, i.e. as overlapping runs. Each run has its own id, so a repeat
 * is recognised and an end is matched to its own start.
 */
async function report(url, what, body) {
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`${url}/${what}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch (err) {
      if (i >= 30) {
        process.stderr.write(`chaos job: the ${what} report of ${body.id} was lost: ${err.message}\n`);
        return;
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const retryable = (m) => ({ state: 'failed', error: { code: 'Flaky', message: m, permanent: false } });

function byPlan(plan, ctx) {
  switch (plan) {
    case 'flaky': // one retryable failure, then success
      return ctx.tier === 0 && ctx.attempt === 1 ? retryable('first attempt fails') : { state: 'succeeded', result: { ran: ctx.attempt } };
    case 'hop': // tier 0 fails throughout, tier 1 succeeds
      return ctx.tier === 0 ? retryable('tier 0 fails') : { state: 'succeeded', result: { tier: ctx.tier } };
    case 'exhaust': // every tier fails: the lineage ends failed on the last one
      return retryable('always fails');
    case 'permanent':
      return { state: 'failed', error: { code: 'Refused', message: 'permanent by plan', permanent: true } };
    default:
      return { state: 'succeeded', result: { ok: true } };
  }
}

export default [
  job('chaos', async (args, ctx) => {
    const run = { id: ctx.id, tier: ctx.tier, attempt: ctx.attempt, pid: process.pid, run: randomUUID() };
    let result;
    try {
      await report(args.recorder, 'start', { ...run, at: Date.now() });
      await new Promise((r) => setTimeout(r, args.ms ?? 50));
      result = byPlan(args.plan, ctx);
      return result;
    } finally {
      // What the job returned, so the check can hold the ledger's record of this attempt to it.
      const returned = !result ? 'threw' : result.state === 'succeeded' ? 'succeeded' : result.error.permanent ? 'permanent' : 'retryable';
      await report(args.recorder, 'end', { ...run, at: Date.now(), returned });
    }
  }),
  job('poison', async () => {
    // An OOM or a native crash, as seen from outside: the process vanishes.
    process.kill(process.pid, 'SIGKILL');
    return new Promise(() => {});
  }),
];
