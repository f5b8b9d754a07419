// The chaos run's "jobs on the other worker unaffected" check (DESIGN §10).
// For each chaos SIGKILL of worker 0, every job run on the other worker that
// was in progress at the kill, or began while worker 0 was down (the other
// worker then took every push), must report its end, and the ledger must
// record its attempt as what the job returned: not `crashed`, not `running`,
// not missing. A run its own worker's death cut short (the poison job kills
// its worker, and every job beside it) is counted apart: that is its own
// worker's death, not the kill's. A first 300-task run with a narrower rule
// (the worker died while the job ran) blamed the kill for 48 runs that had
// ended and whose worker the poison job killed before their outcome was
// committed: the finish write may wait behind a dead transaction's lock.

/** What a chaos job returned, as it reports with its end. */
export type Returned = 'succeeded' | 'permanent' | 'retryable' | 'threw';

/** One job run, as the job reported it (`start`/`end` are the job's own clock). */
export interface Run {
  run: string;
  pid: number;
  tier: number;
  attempt: number;
  start?: number;
  end?: number;
  returned?: Returned;
}

/** A chaos SIGKILL of worker 0: when, which process was the other worker then, and when worker 0 served again. */
export interface KillEvent {
  at: number;
  other?: number;
  backAt?: number;
}

/** The attempt outcomes the ledger may record for what a job returned (a retryable failure ends an attempt as a retry, a forward or, on the last tier, a failure). */
const OUTCOMES_OF: Record<Returned, readonly string[]> = {
  succeeded: ['succeeded'],
  permanent: ['failed'],
  retryable: ['retry', 'forwarded', 'failed'],
  threw: ['retry', 'forwarded', 'failed'],
};

export interface OtherWorkerInput {
  kills: readonly KillEvent[];
  /** Runs by lineage id. */
  runs: ReadonlyMap<string, readonly Run[]>;
  /** Worker process deaths (any cause). */
  deaths: ReadonlyArray<{ pid: number; at: number }>;
  /** The ledger's outcome of a lineage's attempt, if it has that attempt. */
  outcome(id: string, tier: number, attempt: number): string | undefined;
  /** When the run was judged: a run with no end is taken to last until then. */
  now: number;
}

export interface OtherWorkerResult {
  /** Runs on the other worker across the kills, whose own worker survived them. */
  runs: number;
  /** Of those, runs that never ended or whose attempt the ledger did not record as the job returned. */
  affected: number;
  /** Runs in the window cut short by their own worker's death (not counted in `runs`): it died while the job ran or before its outcome was committed. */
  diedWithTheirOwnWorker: number;
  /** One line per affected run, for the log. */
  details: string[];
}

/**
 * How long after a run's end its outcome may still be on its way to the
 * ledger: a finish waits behind a dead transaction's lock for up to 60 s
 * (61 s measured on the emulator). A worker that dies within this takes the
 * write with it.
 */
export const FINISH_GRACE_MS = 90_000;

export function otherWorkerCheck(input: OtherWorkerInput): OtherWorkerResult {
  const result: OtherWorkerResult = { runs: 0, affected: 0, diedWithTheirOwnWorker: 0, details: [] };
  const seen = new Set<string>();
  for (const kill of input.kills) {
    if (kill.other === undefined) continue; // the other worker was itself restarting
    const until = kill.backAt ?? kill.at;
    for (const [id, list] of input.runs) {
      for (const r of list) {
        if (r.pid !== kill.other || r.start === undefined || seen.has(r.run)) continue;
        const start = r.start;
        if (start > until || (r.end ?? Number.POSITIVE_INFINITY) < kill.at) continue;
        seen.add(r.run);
        const outcome = input.outcome(id, r.tier, r.attempt);
        const asReturned = r.end !== undefined && r.returned !== undefined && outcome !== undefined && OUTCOMES_OF[r.returned].includes(outcome);
        const cutShortUntil = (r.end ?? input.now) + FINISH_GRACE_MS;
        if (!asReturned && input.deaths.some((d) => d.pid === r.pid && d.at >= start && d.at <= cutShortUntil)) {
          result.diedWithTheirOwnWorker++;
          continue;
        }
        result.runs++;
        if (asReturned) continue;
        result.affected++;
        result.details.push(
          `${id} ${r.tier}/${r.attempt} on pid ${r.pid}: ${r.end === undefined ? 'no end reported' : `returned ${r.returned ?? '?'}`}, ledger ${outcome ?? 'no attempt'}`,
        );
      }
    }
  }
  return result;
}
