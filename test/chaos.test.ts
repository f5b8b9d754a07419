// The reduced chaos run of `npm run chaos` (DESIGN §10): 150 tasks through two
// real workers, SIGKILLs, a Firestore outage and a half-failing notification
// target. Every lineage must end exactly once, be notified, and never run
// twice at once; the poison task must fail as PoisonTask after MAX_CRASHES.
import t from 'tap';
import { chaosPassed, formatReport, runChaos } from '../bench/chaos.ts';

// Two worker processes, the Firestore emulator and 300 tasks: longer than the default file timeout.
t.setTimeout(420_000);

t.test('chaos: nothing lost, stuck, doubly ended, unnotified or run twice at once', async (t) => {
  const report = await runChaos({ tasks: Number(process.env.CHAOS_TEST_TASKS ?? 150), seed: 7 });
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
  t.ok(chaosPassed(report));
});
