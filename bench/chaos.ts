// npm run chaos (DESIGN §10): the Cloud Tasks emulator, two `executor serve`
// workers sharing the Firestore emulator behind a round-robin proxy, a 3-tier
// chain, N tasks with random retryable and permanent failures, a poison job,
// three SIGKILLs of a worker (restarted), a Firestore outage, and a
// notification target failing half its calls. It prints and checks: lost,
// stuck, double-terminal, missing notifications, double runs (all 0), runs
// after a recorded success (0) and poison tasks failed after MAX_CRASHES.
// CHAOS_TASKS (default 2000) sets N; test/chaos.test.ts runs 300.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../src/emulator/index.ts';
import { createFirestoreLedger } from '../src/ledger/firestore-ledger.ts';
import { startGcloudEmulator } from '../test/helpers/gcloud-emulator.ts';

const BIN = fileURLToPath(new URL('../bin/executor.js', import.meta.url));
const JOBS = fileURLToPath(new URL('./chaos-jobs.mjs', import.meta.url));
const PROJECT = 'chaos-project';
const LOCATION = 'us-central1';
const QUEUES = ['incoming', 'incoming-2', 'incoming-3'];
const MAX_CRASHES = 3;
const FAST = { minBackoff: '0.2s', maxBackoff: '1s', maxDoublings: 2, maxRetryDuration: '0s', maxAttempts: -1 };

export interface ChaosReport {
  tasks: number;
  lost: number;
  stuck: number;
  doubleTerminal: number;
  missingNotifications: number;
  doubleRuns: number;
  runsAfterSuccess: number;
  poison: { tasks: number; failedAsPoison: number; crashes: number[] };
  innocentPoisoned: number;
  states: Record<string, number>;
  kills: number;
  workerRestarts: number;
  firestoreOutageMs: number;
  notifyCalls: { accepted: number; refused: number };
  seconds: number;
}

type Plan = 'ok' | 'flaky' | 'hop' | 'exhaust' | 'permanent';

/** Workers still running; killed when this process exits, however it exits. */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of liveChildren) c.kill('SIGKILL');
});

function log(msg: string) {
  process.stderr.write(`chaos: ${msg}\n`);
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

/** The request body; a request cut off (its worker was killed) yields an empty one. */
const body = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('aborted', () => resolve(Buffer.alloc(0)));
    req.on('error', () => resolve(Buffer.alloc(0)));
  });

function parse<T>(raw: Buffer): T | undefined {
  try {
    return JSON.parse(raw.toString()) as T;
  } catch {
    return undefined;
  }
}

export async function runChaos(opts: { tasks?: number; seed?: number } = {}): Promise<ChaosReport> {
  const n = opts.tasks ?? Number(process.env.CHAOS_TASKS ?? 2000);
  let seed = opts.seed ?? 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const started = Date.now();
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  try {
    // --- backends -------------------------------------------------------
    const firestore = await startGcloudEmulator('firestore', { project: PROJECT });
    cleanups.push(() => firestore.stop());
    const tasks = await startEmulator({ host: '127.0.0.1', port: 0, logger: false });
    cleanups.push(() => tasks.close());
    for (const q of [...QUEUES, 'notifier']) await tasks.ensureQueue(PROJECT, LOCATION, q, FAST);

    // --- recorder: job runs, and the notification target (fails every other call)
    const runs = new Map<string, Array<{ pid: number; start: number; end?: number }>>();
    const notified = new Map<string, Set<string>>(); // lineage -> terminal event ids
    const notifyCalls = { accepted: 0, refused: 0 };
    let notifyCounter = 0;
    const recorder = await listen(async (req, res) => {
      const raw = await body(req);
      if (req.url === '/notify') {
        if (notifyCounter++ % 2 === 0) {
          notifyCalls.refused++;
          res.writeHead(500).end();
          return;
        }
        const event = parse<{ id: string; subject: string; type: string }>(raw);
        if (!event) {
          res.writeHead(400).end();
          return;
        }
        notifyCalls.accepted++;
        if (!event.type.endsWith('.forwarded')) {
          let set = notified.get(event.subject);
          if (!set) notified.set(event.subject, (set = new Set()));
          set.add(event.id);
        }
        res.writeHead(200).end();
        return;
      }
      // `at` is the job's own clock (same machine): the recorder may read a report late.
      const r = parse<{ id: string; pid: number; at: number }>(raw);
      if (!r) {
        res.writeHead(400).end();
        return;
      }
      let list = runs.get(r.id);
      if (!list) runs.set(r.id, (list = []));
      if (req.url === '/start') list.push({ pid: r.pid, start: r.at });
      else {
        const open = list.find((x) => x.pid === r.pid && x.end === undefined);
        if (open) open.end = r.at;
      }
      res.writeHead(200).end();
    });
    cleanups.push(() => new Promise((r) => recorder.server.close(r)));
    const recorderUrl = `http://127.0.0.1:${recorder.port}`;

    // --- two workers behind a round-robin proxy (a stand-in for Cloud Run's load balancer)
    const workerPorts = [0, 0];
    const alive = [false, false];
    let rr = 0;
    const proxy = await listen(async (req, res) => {
      const raw = await body(req);
      const candidates = [0, 1].filter((i) => alive[i]);
      if (candidates.length === 0) {
        res.writeHead(503).end();
        return;
      }
      const i = candidates[rr++ % candidates.length]!;
      const up = request({ host: '127.0.0.1', port: workerPorts[i], method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      // Like a load balancer: a worker that never answers is a 504, not a hang.
      up.setTimeout(20_000, () => up.destroy(new Error('upstream timeout')));
      up.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      up.end(raw);
    });
    cleanups.push(() => new Promise((r) => proxy.server.close(r)));
    const serviceUrl = `http://127.0.0.1:${proxy.port}`;

    const prefix = `chaos${Date.now()}`;
    const procs: Array<ChildProcess | undefined> = [undefined, undefined];
    let stopping = false;
    let workerRestarts = 0;
    const deaths: Array<{ pid: number; at: number }> = [];
    const { freePort } = await import('../test/helpers/free-port.ts');
    const startWorker = async (i: number): Promise<void> => {
      workerPorts[i] = await freePort();
      const child = spawn(process.execPath, [BIN, 'serve'], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          PORT: String(workerPorts[i]),
          HOST: '127.0.0.1',
          GOOGLE_CLOUD_PROJECT: PROJECT,
          LOCATION,
          SERVICE_URL: serviceUrl,
          CHAIN: 'incoming:2,incoming-2:2,incoming-3:2',
          AUTH: 'none',
          ALLOW_UNAUTHENTICATED: '1',
          LEDGER: 'firestore',
          FIRESTORE_EMULATOR_HOST: firestore.host,
          FIRESTORE_COLLECTION_PREFIX: prefix,
          CLOUD_TASKS_EMULATOR_HOST: `127.0.0.1:${tasks.port}`,
          NOTIFY_QUEUE: 'notifier',
          NOTIFY_URL: `${recorderUrl}/notify`,
          NOTIFY_ON: 'succeeded,failed',
          JOBS_MODULE: JOBS,
          MAX_CONCURRENCY: '50',
          MAX_CRASHES: String(MAX_CRASHES),
          JOB_TIMEOUT: '5s',
          LEASE_MARGIN: '2s',
          SWEEP_INTERVAL: '20s',
          LOG_LEVEL: 'error',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      procs[i] = child;
      liveChildren.add(child);
      child.once('exit', (code, signal) => {
        log(`worker ${i} (pid ${child.pid}) exited (${signal ?? code})${stopping ? '' : '; restarting'}`);
        liveChildren.delete(child);
        alive[i] = false;
        deaths.push({ pid: child.pid!, at: Date.now() });
        if (!stopping) {
          workerRestarts++;
          void startWorker(i);
        }
      });
      for (let k = 0; ; k++) {
        try {
          if ((await fetch(`http://127.0.0.1:${workerPorts[i]}/healthz`)).ok) break;
        } catch {}
        if (child.exitCode !== null || k > 1200) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      alive[i] = true;
    };
    await Promise.all([startWorker(0), startWorker(1)]);
    cleanups.push(() => {
      stopping = true;
      for (const p of procs) if (p && p.exitCode === null) p.kill('SIGKILL');
    });

    // --- the tasks -----------------------------------------------------------
    const plans: Record<string, Plan | 'poison'> = {};
    const poisonIds = ['poison-0'];
    for (const id of poisonIds) plans[id] = 'poison';
    for (let i = 0; i < n; i++) {
      const x = random();
      plans[`t-${i}`] = x < 0.5 ? 'ok' : x < 0.7 ? 'flaky' : x < 0.8 ? 'hop' : x < 0.9 ? 'permanent' : 'exhaust';
    }
    const ids = Object.keys(plans);
    const createTask = async (id: string) => {
      const plan = plans[id]!;
      const envelope = plan === 'poison' ? { type: 'poison' } : { type: 'chaos', args: { plan, ms: 20 + Math.floor(random() * 80), recorder: recorderUrl } };
      const res = await fetch(`${tasks.url}/v2/projects/${PROJECT}/locations/${LOCATION}/queues/incoming/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          task: {
            name: `projects/${PROJECT}/locations/${LOCATION}/queues/incoming/tasks/${id}`,
            httpRequest: { url: `${serviceUrl}/tasks`, httpMethod: 'POST', body: Buffer.from(JSON.stringify(envelope)).toString('base64') },
            // As the forwarder sets on next-tier tasks: JOB_TIMEOUT + 30 s.
            dispatchDeadline: '35s',
          },
        }),
      });
      if (!res.ok) throw new Error(`createTask ${id}: ${res.status} ${await res.text()}`);
    };

    // Chaos events spread over the enqueue: 3 SIGKILLs of worker 0, one Firestore outage.
    let kills = 0;
    const killAt = new Set([Math.floor(ids.length * 0.25), Math.floor(ids.length * 0.5), Math.floor(ids.length * 0.75)]);
    const outageAt = Math.floor(ids.length * 0.6);
    const OUTAGE_MS = 3000;
    let firestoreOutageMs = 0;
    log(`${ids.length} tasks (${n} + ${poisonIds.length} poison) over 2 workers, 3 tiers`);
    for (let i = 0; i < ids.length; i++) {
      await createTask(ids[i]!);
      if (killAt.has(i) && procs[0]?.exitCode === null) {
        procs[0].kill('SIGKILL');
        kills++;
        log(`SIGKILL worker 0 after ${i} tasks`);
      }
      if (i === outageAt) {
        // The emulator keeps its data only in memory, so a real restart would
        // wipe the ledger; an outage (process group stopped) is what a
        // restart looks like to the workers without losing the data.
        log('Firestore outage');
        process.kill(-firestore.pgid, 'SIGSTOP');
        await new Promise((r) => setTimeout(r, OUTAGE_MS));
        process.kill(-firestore.pgid, 'SIGCONT');
        firestoreOutageMs += OUTAGE_MS;
      }
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 10));
    }

    // --- settle: every lineage terminal and notified, or a deadline ----------
    process.env.FIRESTORE_EMULATOR_HOST = firestore.host; // read by the client when it is created
    const ledger = createFirestoreLedger({ projectId: PROJECT, collectionPrefix: prefix });
    cleanups.push(() => ledger.close());
    const records = new Map<string, Awaited<ReturnType<typeof ledger.get>>>();
    const deadline = Date.now() + Math.max(90_000, n * 60);
    const ended = (s: string | undefined) => s === 'succeeded' || s === 'failed' || s === 'cancelled';
    for (;;) {
      let pending = 0;
      for (const id of ids) {
        if (ended(records.get(id)?.state) && notified.has(id)) continue;
        records.set(id, await ledger.get(id));
        if (!ended(records.get(id)?.state) || !notified.has(id)) pending++;
      }
      if (pending === 0 || Date.now() > deadline) break;
      const detail =
        pending <= 5
          ? `: ${ids
              .filter((id) => !ended(records.get(id)?.state) || !notified.has(id))
              .map((id) => {
                const r = records.get(id);
                return `${id} (${plans[id]}) ${r?.state ?? 'no record'} tier ${r?.tier} attempts ${JSON.stringify(r?.attempts)} crashes ${r?.crashes ?? 0} lease ${r?.lease?.until ?? '-'} notified ${notified.has(id)}`;
              })
              .join('; ')}`
          : '';
      log(`${pending} lineages not yet ended and notified${detail}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    const settledAt = Date.now();

    // --- verdict ---------------------------------------------------------------
    const states: Record<string, number> = {};
    let lost = 0;
    let stuck = 0;
    let doubleTerminal = 0;
    let missingNotifications = 0;
    let doubleRuns = 0;
    let runsAfterSuccess = 0;
    let innocentPoisoned = 0;
    const poison = { tasks: poisonIds.length, failedAsPoison: 0, crashes: [] as number[] };
    for (const id of ids) {
      const rec = records.get(id);
      const state = rec?.state ?? 'missing';
      states[state] = (states[state] ?? 0) + 1;
      if (!rec) lost++;
      else if (!ended(rec.state)) stuck++;
      const events = notified.get(id);
      if (ended(rec?.state) && !events) missingNotifications++;
      if (events && events.size > 1) doubleTerminal++;
      if (rec?.error?.code === 'PoisonTask') {
        if (plans[id] === 'poison') poison.failedAsPoison++;
        else innocentPoisoned++;
      }
      if (plans[id] === 'poison') poison.crashes.push(rec?.crashes ?? 0);
      // Runs of one lineage must not overlap; a run on a killed worker ends when it died.
      const list = (runs.get(id) ?? []).map((r) => ({ ...r, end: r.end ?? deaths.find((d) => d.pid === r.pid && d.at >= r.start)?.at ?? settledAt }));
      list.sort((a, b) => a.start - b.start);
      for (let k = 1; k < list.length; k++) if (list[k]!.start < list[k - 1]!.end) doubleRuns++;
      if (rec?.state === 'succeeded' && rec.finishedAt) {
        const done = Date.parse(rec.finishedAt);
        runsAfterSuccess += list.filter((r) => r.start > done).length;
      }
    }
    return {
      tasks: ids.length,
      lost,
      stuck,
      doubleTerminal,
      missingNotifications,
      doubleRuns,
      runsAfterSuccess,
      poison,
      innocentPoisoned,
      states,
      kills,
      workerRestarts,
      firestoreOutageMs,
      notifyCalls,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {}
    }
  }
}

export function formatReport(r: ChaosReport): string {
  const rows: Array<[string, string | number]> = [
    ['tasks (incl. poison)', r.tasks],
    ['lost', r.lost],
    ['stuck', r.stuck],
    ['double-terminal', r.doubleTerminal],
    ['missing notifications', r.missingNotifications],
    ['double runs', r.doubleRuns],
    ['runs after a recorded success', r.runsAfterSuccess],
    ['poison tasks failed as PoisonTask', `${r.poison.failedAsPoison}/${r.poison.tasks} (crashes ${r.poison.crashes.join(', ')})`],
    ['innocent lineages failed as PoisonTask', r.innocentPoisoned],
    [
      'end states',
      Object.entries(r.states)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    ['SIGKILLs (chaos) / worker restarts (incl. poison)', `${r.kills} / ${r.workerRestarts}`],
    ['Firestore outage', `${r.firestoreOutageMs} ms`],
    ['notification target calls accepted / refused', `${r.notifyCalls.accepted} / ${r.notifyCalls.refused}`],
    ['wall time', `${r.seconds} s`],
  ];
  return ['| check | result |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

export function chaosPassed(r: ChaosReport): boolean {
  return (
    r.lost === 0 &&
    r.stuck === 0 &&
    r.doubleTerminal === 0 &&
    r.missingNotifications === 0 &&
    r.doubleRuns === 0 &&
    r.runsAfterSuccess === 0 &&
    r.poison.failedAsPoison === r.poison.tasks
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  const report = await runChaos();
  process.stdout.write(`${formatReport(report)}\n`);
  process.exit(chaosPassed(report) ? 0 : 1);
}
