// The bad-input corpus against both push routes with the Firestore ledger
// (the gcloud Firestore emulator): lone surrogates, huge keys and deep
// nesting must never reach a Firestore write.
import t from 'tap';
import { createFirestoreLedger } from '../../src/ledger/firestore-ledger.ts';
import { startGcloudEmulator } from '../helpers/gcloud-emulator.ts';
import { replayCorpus } from './replay.ts';

// Starting the emulator and 770 transactions take well under a minute on an
// idle machine; the default per-file limit leaves too little room on a busy one.
t.setTimeout(600_000);

const PROJECT = 'hostile-replay';
const emulator = await startGcloudEmulator('firestore', { project: PROJECT });
t.teardown(() => emulator.stop());
process.env.FIRESTORE_EMULATOR_HOST = emulator.host;

t.test(
  'every bad push is answered 200, recorded and ended, redelivered without 5xx; the app stays healthy (Firestore ledger)',
  { timeout: 600_000 },
  async (t) => {
    const ledger = createFirestoreLedger({ projectId: PROJECT, collectionPrefix: `replay${process.pid}` });
    t.teardown(() => ledger.close());
    const report = await replayCorpus(ledger, { concurrency: 8 });
    t.same(report.failures, [], 'no case failed');
    t.ok(report.sent >= 500, `${report.sent} pushes sent`);
    t.ok(report.outcomes.failed! > 200 && report.outcomes.succeeded! > 50, `outcomes ${JSON.stringify(report.outcomes)}`);
    t.ok(report.healthy, 'healthy afterwards');
    t.notOk(report.polluted, 'no prototype polluted');
    t.comment(`slowest: ${JSON.stringify(report.slowest)}`);
  },
);
