// The reduced chaos run of `npm run chaos` (DESIGN §10): 300 tasks through two
// real workers, SIGKILLs, a restart of the Firestore emulator (data kept) and a
// half-failing notification target. Every lineage must end exactly once, be
// notified, and never run twice at once; the poison task must fail as
// PoisonTask after MAX_CRASHES; the jobs on the other worker must end as they
// returned, whatever happened to worker 0 (bench/chaos-other-worker.ts). The
// run ends when every lineage has ended or nothing moved for 3 minutes
// (bench/chaos-settle.ts), so a loaded machine makes it slower, not red.
import t from 'tap';
import { chaosPassed, formatReport, runChaos } from '../bench/chaos.ts';

// Two worker processes, the Firestore emulator (started twice) and 300 tasks:
// about 2-3 min idle, 3-4 min beside a CPU busy-loop; the bound is the settle's
// 3-minute stall on top of a slow run, not an expected duration.
t.setTimeout(900_000);

t.test('chaos: nothing lost, stuck, doubly ended, unnotified or run twice at once', async (t) => {
  const report = await runChaos({ tasks: Number(process.env.CHAOS_TEST_TASKS ?? 300), seed: 7 });
  t.comment(`\n${formatReport(report)}`);
  t.equal(report.lost, 0, 'lost');
  t.equal(report.stuck, 0, 'stuck');
  t.equal(report.doubleTerminal, 0, 'double-terminal');
  t.equal(report.missingNotifications, 0, 'missing notifications');
  t.equal(report.doubleRuns, 0, 'double runs');
  t.equal(report.runsAfterSuccess, 0, 'runs after a recorded success');
  t.equal(report.poison.failedAsPoison, report.poison.tasks, 'poison tasks failed as PoisonTask');
  t.ok(
    report.poison.crashes.every((c) => c >= 3),
    'after MAX_CRASHES crashes',
  );
  t.equal(report.kills, 3, 'three SIGKILLs happened');
  t.ok(report.otherWorker.runs > 0, 'jobs were running on the other worker across the SIGKILLs');
  t.equal(report.otherWorker.affected, 0, 'jobs on the other worker unaffected by them');
  t.equal(report.firestoreRestarts, 1, 'the Firestore emulator was restarted');
  t.ok(chaosPassed(report));
});
