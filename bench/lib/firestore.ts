// The Firestore ledger's cost: deliveries per second through `POST /tasks` with
// LEDGER=firestore, beside a bare loop doing one Firestore transaction (read a
// document, write it) per delivery, both against the same Firestore emulator.
import { Firestore } from '@google-cloud/firestore';
import { startGcloudEmulator } from '../../test/helpers/gcloud-emulator.ts';
import { ECHO_BODY, type Row, SERVE_ENV } from './common.ts';
import { type LoadResult, load } from './load.ts';
import { startProc } from './proc.ts';

interface Settings {
  connections: number;
  durationSec: number;
  rounds: number;
  executorEntry: string;
}

/** CONNECTIONS loops, each doing one transaction per iteration on a fresh document, for the duration. */
async function bareTransactions(host: string, project: string, connections: number, durationSec: number): Promise<LoadResult> {
  const db = new Firestore({ projectId: project, host, ssl: false, customHeaders: { Authorization: 'Bearer owner' } });
  const col = db.collection('bench-bare');
  const end = Date.now() + durationSec * 1000;
  let n = 0;
  let errors = 0;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: connections }, async (_, c) => {
      for (let i = 0; Date.now() < end; i++) {
        const t0 = performance.now();
        try {
          await db.runTransaction(async (tx) => {
            const ref = col.doc(`c${c}-${i}-${Date.now()}`);
            const snap = await tx.get(ref);
            tx.set(ref, { attempts: (snap.exists ? (snap.data()!.attempts as number) : 0) + 1, state: 'running', updatedAt: new Date() });
          });
          n++;
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  await db.terminate();
  latencies.sort((a, b) => a - b);
  return {
    requests: n,
    rps: n / durationSec,
    p50: latencies[Math.floor(latencies.length / 2)] ?? NaN,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN,
    errors,
    non2xx: 0,
  };
}

export async function firestoreFigure(s: Settings, raw: Record<string, unknown>): Promise<Row> {
  const project = 'bench-project';
  const emulator = await startGcloudEmulator('firestore', { project, timeoutMs: 120_000 });
  try {
    const serve = await startProc([s.executorEntry, 'serve'], {
      ...SERVE_ENV,
      GOOGLE_CLOUD_PROJECT: project,
      LEDGER: 'firestore',
      FIRESTORE_EMULATOR_HOST: emulator.host,
    });
    try {
      const ex: LoadResult[] = [];
      const bare: LoadResult[] = [];
      for (let r = 0; r < s.rounds; r++) {
        bare.push(await bareTransactions(emulator.host, project, s.connections, s.durationSec));
        ex.push(await load({ url: serve.url, connections: s.connections, durationSec: s.durationSec, body: ECHO_BODY }));
      }
      const avg = (xs: LoadResult[]) => xs.reduce((a, x) => a + x.rps, 0) / xs.length;
      const e = avg(ex);
      const b = avg(bare);
      const bad = ex.reduce((a, x) => a + x.errors + x.non2xx, 0);
      raw.firestore = { executor: ex, bare };
      return {
        figure: 'Firestore ledger: deliveries/s through `POST /tasks` / a bare loop of one transaction per delivery (Firestore emulator)',
        executor: `${e.toFixed(0)} /s`,
        baseline: `${b.toFixed(0)} /s`,
        ratio: e / b,
        target: '≥ 0.5×',
        met: e / b >= 0.5,
        ...(bad ? { note: `${bad} errors or non-2xx replies` } : {}),
      };
    } finally {
      await serve.stop();
    }
  } finally {
    await emulator.stop();
  }
}
