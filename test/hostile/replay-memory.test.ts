// The bad-input corpus against both push routes with the memory ledger.
import t from 'tap';
import { createMemoryLedger } from '../../src/ledger/memory-ledger.ts';
import { loadCorpus } from '../fixtures/bad-input/case.ts';
import { replayCorpus } from './replay.ts';

t.test('the corpus holds at least 250 cases', async (t) => {
  t.ok(loadCorpus().length >= 250, `${loadCorpus().length} cases`);
});

t.test('every bad push is answered 200, recorded and ended, redelivered without 5xx; the app stays healthy (memory ledger)', async (t) => {
  const ledger = createMemoryLedger();
  t.teardown(() => ledger.close());
  const report = await replayCorpus(ledger);
  t.same(report.failures, [], 'no case failed');
  t.ok(report.sent >= 500, `${report.sent} pushes sent`);
  t.ok(report.outcomes.failed! > 200 && report.outcomes.succeeded! > 50, `outcomes ${JSON.stringify(report.outcomes)}`);
  t.ok(report.healthy, 'healthy afterwards');
  t.notOk(report.polluted, 'no prototype polluted');
  t.comment(`largest record ${report.largestRecordBytes} B, largest event ${report.largestEventBytes} B`);
});
