// npm run chaos (DESIGN §10): the Cloud Tasks emulator, two `executor serve`
// workers sharing the Firestore emulator behind a round-robin proxy, a 3-tier
// chain, N tasks with random retryable and permanent failures, a poison job,
// three SIGKILLs of a worker (restarted), a Firestore restart, and a
// notification target failing half its calls. It prints and checks: lost,
// stuck, double-terminal, missing notifications, double runs (all 0), runs
// after a recorded success (0), poison tasks failed after MAX_CRASHES, and that
// the jobs on the other worker were unaffected by each SIGKILL (0 affected).
// CHAOS_TASKS (default 2000) sets N; test/chaos.test.ts runs 300.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../src/emulator/index.ts';
import { createFirestoreLedger } from '../src/ledger/firestore-ledger.ts';
import { startGcloudEmulator } from '../test/helpers/gcloud-emulator.ts';
import { type KillEvent, otherWorkerCheck, type Returned, type Run } from './chaos-other-worker.ts';
import { settle } from './chaos-settle.ts';

const BIN = fileURLToPath(new URL('../bin/executor.js', import.meta.url));
const JOBS = fileURLToPath(new URL('./chaos-jobs.mjs', import.meta.url));
const PROJECT = 'chaos-project';
const LOCATION = 'us-central1';
const QUEUES = ['incoming', 'incoming-2', 'incoming-3'];
const MAX_CRASHES = 3;
/** How long the balancer holds a push while no worker is up. */
const NO_WORKER_WAIT_MS = 30_000;
const FAST = { minBackoff: '0.2s', maxBackoff: '1s', maxDoublings: 2, maxRetryDuration: '0s', maxAttempts: -1 };

export interface ChaosReport {
  tasks: number;
  lost: number;
  stuck: number;
  doubleTerminal: number;
  missingNotifications: number;
  doubleRuns: number;
  runsAfterSuccess: number;
  /** Runs still going on after the success was recorded, of attempts begun before it (a lapsed lease's re-run). */
  rerunsBeforeSuccess: number;
  poison: { tasks: number; failedAsPoison: number; crashes: number[] };
  innocentPoisoned: number;
  /**
   * Jobs on the other worker around each chaos SIGKILL of worker 0: the runs in
   * progress on it when worker 0 was killed or begun while worker 0 was down.
   * `affected` counts those that never reported their end or whose attempt the
   * ledger did not record as what the job returned; `diedWithTheirOwnWorker`
   * those cut short by their own worker's death (the poison job kills its
   * worker) before their outcome was committed, which are not counted.
   */
  otherWorker: { runs: number; affected: number; diedWithTheirOwnWorker: number };
  states: Record<string, number>;
  kills: number;
  workerRestarts: number;
  /** Restarts of the Firestore emulator (data exported, process killed, started again on its port with the data). */
  firestoreRestarts: number;
  /** How long the workers were cut off from Firestore by them. */
  firestoreRestartMs: number;
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

type Gcloud = Awaited<ReturnType<typeof startGcloudEmulator>>;

/**
 * A TCP hop in front of the Firestore emulator. cut() drops every connection
 * and refuses new ones until open(): no write can be acknowledged to a worker
 * after the cut, so an export taken after it holds every acknowledged write.
 */
async function tcpGate(targetPort: number) {
  let isOpen = true;
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    if (!isOpen) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', drop).on('close', drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      isOpen = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    open() {
      isOpen = true;
    },
    close() {
      this.cut();
      return new Promise((r) => server.close(r));
    },
  };
}

/**
 * A real restart of the Firestore emulator with its data: cut the workers
 * off, export through the emulator's REST endpoint (`--export-on-exit` fails
 * on this emulator: "Failed during export"), kill it, start it again on the
 * same port with `--import-data`, let the workers back in.
 */
async function restartFirestore(old: Gcloud, gate: Awaited<ReturnType<typeof tcpGate>>, cleanups: Array<() => unknown>): Promise<Gcloud> {
  gate.cut();
  const dir = mkdtempSync(join(tmpdir(), 'chaos-firestore-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const res = await fetch(`http://${old.host}/emulator/v1/projects/${PROJECT}:export`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ database: `projects/${PROJECT}/databases/(default)`, export_directory: dir }),
  });
  if (!res.ok) throw new Error(`Firestore emulator export: ${res.status} ${await res.text()}`);
  const [sub] = readdirSync(dir);
  const metadata = sub && readdirSync(join(dir, sub)).find((f) => f.endsWith('.overall_export_metadata'));
  if (!sub || !metadata) throw new Error(`Firestore emulator export wrote no metadata file in ${dir}`);
  await old.stop();
  const fresh = await startGcloudEmulator('firestore', { project: PROJECT, port: old.port, args: [`--import-data=${join(dir, sub, metadata)}`] });
  gate.open();
  return fresh;
}

export async function runChaos(opts: { tasks?: number; seed?: number; stallMs?: number } = {}): Promise<ChaosReport> {
  const n = opts.tasks ?? Number(process.env.CHAOS_TASKS ?? 2000);
  let seed = opts.seed ?? 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const started = Date.now();
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  try {
    // --- backends -------------------------------------------------------
    let firestore = await startGcloudEmulator('firestore', { project: PROJECT });
    cleanups.push(() => firestore.stop());
    // The workers reach Firestore through a gate, so a restart can cut them off first.
    const gate = await tcpGate(firestore.port);
    cleanups.push(() => gate.close());
    const tasks = await startEmulator({ host: '127.0.0.1', port: 0, logger: false });
    cleanups.push(() => tasks.close());
    for (const q of [...QUEUES, 'notifier']) await tasks.ensureQueue(PROJECT, LOCATION, q, FAST);

    // --- recorder: job runs, and the notification target (fails every other call)
    const runs = new Map<string, Run[]>();
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
      // A report may come twice (the job retries until answered): runs are keyed by their id.
      const r = parse<{ id: string; pid: number; at: number; run: string; tier: number; attempt: number; returned?: Returned }>(raw);
      if (!r) {
        res.writeHead(400).end();
        return;
      }
      let list = runs.get(r.id);
      if (!list) runs.set(r.id, (list = []));
      let entry = list.find((x) => x.run === r.run);
      if (!entry) list.push((entry = { run: r.run, pid: r.pid, tier: r.tier, attempt: r.attempt }));
      if (req.url === '/start') entry.start = r.at;
      else {
        entry.end = r.at;
        entry.returned = r.returned;
      }
      res.writeHead(200).end();
    });
    cleanups.push(
      () =>
        new Promise((r) => {
          recorder.server.close(r);
          recorder.server.closeAllConnections();
        }),
    );
    const recorderUrl = `http://127.0.0.1:${recorder.port}`;

    // --- two workers behind a round-robin proxy (a stand-in for Cloud Run's load balancer)
    const workerPorts = [0, 0];
    const alive = [false, false];
    let rr = 0;
    const trace = new Map<string, string[]>();
    const debug = Boolean(process.env.CHAOS_DEBUG);
    const note = (name: unknown, what: string) => {
      if (!debug || typeof name !== 'string') return;
      let l = trace.get(name);
      if (!l) trace.set(name, (l = []));
      l.push(`${((Date.now() - started) / 1000).toFixed(1)}s ${what}`);
    };
    const proxy = await listen(async (req, res) => {
      const tn = req.headers['x-cloudtasks-taskname'];
      note(tn, `in q=${req.headers['x-cloudtasks-queuename']} rc=${req.headers['x-cloudtasks-taskretrycount']}`);
      const raw = await body(req);
      // Like Cloud Run's front end: a request that finds no instance waits for
      // one to start (bounded) instead of failing at once; a burst of instant
      // 503s while both workers restart would only burn the task's attempts.
      let candidates = [0, 1].filter((i) => alive[i]);
      for (const until = Date.now() + NO_WORKER_WAIT_MS; candidates.length === 0 && Date.now() < until && !res.destroyed; ) {
        await new Promise((r) => setTimeout(r, 100));
        candidates = [0, 1].filter((i) => alive[i]);
      }
      if (candidates.length === 0 || res.destroyed) {
        note(tn, 'no worker');
        if (!res.destroyed) res.writeHead(503).end();
        return;
      }
      const i = candidates[rr++ % candidates.length]!;
      const up = request({ host: '127.0.0.1', port: workerPorts[i], method: req.method, path: req.url, headers: req.headers }, (r) => {
        note(tn, `<- w${i} ${r.statusCode}`);
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      // No timeout of its own: the caller's dispatch deadline is the request's
      // deadline, and a caller that gives up closes the upstream request too.
      res.on('close', () => {
        if (!res.writableFinished) {
          note(tn, 'caller gave up');
          up.destroy();
        }
      });
      up.on('error', (e) => {
        note(tn, `up error ${e.message}`);
        if (!res.headersSent && !res.destroyed) res.writeHead(502);
        res.end();
      });
      up.end(raw);
    });
    cleanups.push(
      () =>
        new Promise((r) => {
          proxy.server.close(r);
          proxy.server.closeAllConnections();
        }),
    );
    const serviceUrl = `http://127.0.0.1:${proxy.port}`;

    const prefix = `chaos${Date.now()}`;
    const procs: Array<ChildProcess | undefined> = [undefined, undefined];
    let stopping = false;
    let workerRestarts = 0;
    const deaths: Array<{ pid: number; at: number; signal: NodeJS.Signals | null }> = [];
    /** Each chaos SIGKILL of worker 0: when, and which process was the other worker then; `backAt` when worker 0 served again. */
    const killEvents: KillEvent[] = [];
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
          FIRESTORE_EMULATOR_HOST: `127.0.0.1:${gate.port}`,
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
        deaths.push({ pid: child.pid!, at: Date.now(), signal });
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
      if (i === 0) for (const k of killEvents) k.backAt ??= Date.now();
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

    // Chaos events spread over the enqueue: 3 SIGKILLs of worker 0, one Firestore restart.
    let kills = 0;
    const killAt = new Set([Math.floor(ids.length * 0.25), Math.floor(ids.length * 0.5), Math.floor(ids.length * 0.75)]);
    const restartAt = Math.floor(ids.length * 0.6);
    let firestoreRestartMs = 0;
    let firestoreRestarts = 0;
    log(`${ids.length} tasks (${n} + ${poisonIds.length} poison) over 2 workers, 3 tiers`);
    for (let i = 0; i < ids.length; i++) {
      await createTask(ids[i]!);
      if (killAt.has(i)) {
        // Worker 0 may be restarting (the poison job kills workers too): kill it once it serves again.
        for (const until = Date.now() + 120_000; !(alive[0] && procs[0]?.exitCode === null) && Date.now() < until; ) {
          await new Promise((r) => setTimeout(r, 100));
        }
        if (alive[0] && procs[0]?.exitCode === null) {
          killEvents.push({ at: Date.now(), other: alive[1] && procs[1]?.exitCode === null ? procs[1].pid : undefined });
          procs[0].kill('SIGKILL');
          kills++;
          log(`SIGKILL worker 0 after ${i} tasks`);
        }
      }
      if (i === restartAt) {
        const t0 = Date.now();
        firestore = await restartFirestore(firestore, gate, cleanups);
        firestoreRestartMs += Date.now() - t0;
        firestoreRestarts++;
        log(`Firestore restarted with its data in ${firestoreRestartMs} ms (${((Date.now() - started) / 1000).toFixed(1)}s)`);
      }
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 10));
    }

    // --- settle: every lineage ended and notified, or nothing moved for a long time
    process.env.FIRESTORE_EMULATOR_HOST = firestore.host; // read by the client when it is created
    const ledger = createFirestoreLedger({ projectId: PROJECT, collectionPrefix: prefix });
    cleanups.push(() => ledger.close());
    const records = new Map<string, Awaited<ReturnType<typeof ledger.get>>>();
    const ended = (s: string | undefined) => s === 'succeeded' || s === 'failed' || s === 'cancelled';
    const describe = (id: string) => {
      const r = records.get(id);
      return `${id} (${plans[id]}) ${r?.state ?? 'no record'} tier ${r?.tier} attempts ${JSON.stringify(r?.attempts)} crashes ${r?.crashes ?? 0} lease ${r?.lease?.until ?? '-'} notified ${notified.has(id)}`;
    };
    let rounds = 0;
    const settled = await settle({
      ids,
      stallMs: opts.stallMs ?? Number(process.env.CHAOS_STALL_MS ?? 180_000),
      intervalMs: 2000,
      maxMs: 60 * 60_000,
      async poll(id) {
        const rec = await ledger.get(id);
        records.set(id, rec);
        const events = notified.get(id);
        return {
          done: ended(rec?.state) && events !== undefined,
          mark: JSON.stringify([rec?.state, rec?.tier, rec?.attempts, rec?.crashes, rec?.history.length, rec?.lease?.until, events?.size]),
        };
      },
      report(pending, since) {
        if (++rounds % 5 !== 1) return;
        log(
          `${pending.length} lineages not yet ended and notified (last change ${Math.round(since / 1000)} s ago)${pending.length <= 5 ? `: ${pending.map(describe).join('; ')}` : ''}`,
        );
        if (process.env.CHAOS_DEBUG && pending.length <= 5) for (const id of pending) for (const line of trace.get(id) ?? []) log(`  ${id} proxy ${line}`);
      },
    });
    if (settled.reason !== 'settled') log(`gave up (${settled.reason}): ${settled.pending.slice(0, 20).map(describe).join('; ')}`);
    const settledAt = Date.now();
    if (process.env.CHAOS_DEBUG) {
      for (const id of ids) {
        if (ended(records.get(id)?.state) && notified.has(id)) continue;
        log(`PENDING ${id} rec=${JSON.stringify(records.get(id))}`);
        for (const line of trace.get(id) ?? []) log(`  proxy ${line}`);
        for (const q of QUEUES) {
          const r = await fetch(`${tasks.url}/v2/projects/${PROJECT}/locations/${LOCATION}/queues/${q}/tasks/${id}`);
          log(`  emulator ${q}: ${r.status} ${await r.text()}`);
        }
      }
    }

    // --- verdict ---------------------------------------------------------------
    const states: Record<string, number> = {};
    let lost = 0;
    let stuck = 0;
    let doubleTerminal = 0;
    let missingNotifications = 0;
    let doubleRuns = 0;
    let runsAfterSuccess = 0;
    let rerunsBeforeSuccess = 0;
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
      const list = (runs.get(id) ?? [])
        .filter((r): r is typeof r & { start: number } => r.start !== undefined)
        .map((r) => ({ ...r, end: r.end ?? deaths.find((d) => d.pid === r.pid && d.at >= r.start)?.at ?? settledAt }));
      list.sort((a, b) => a.start - b.start);
      for (let k = 1; k < list.length; k++) {
        if (list[k]!.start >= list[k - 1]!.end) continue;
        doubleRuns++;
        if (debug) {
          const at = (ms: number) => `${((ms - started) / 1000).toFixed(1)}s`;
          log(
            `DOUBLE RUN ${id} (${plans[id]}): ${list.map((r) => `pid ${r.pid} ${at(r.start)}-${at(r.end)}${r.end === settledAt ? '(no end)' : ''}`).join(', ')}`,
          );
          for (const h of rec?.history ?? [])
            log(`  ${h.tier}/${h.attempt} ${h.outcome} ${at(Date.parse(h.startedAt))}-${h.finishedAt ? at(Date.parse(h.finishedAt)) : '?'}`);
          for (const name of [id, `${id}-t1`, `${id}-t2`]) for (const line of trace.get(name) ?? []) log(`  ${name} proxy ${line}`);
        }
      }
      if (rec?.state === 'succeeded' && rec.finishedAt) {
        const done = Date.parse(rec.finishedAt);
        // A run of an attempt the ledger let begin before the success was recorded is the
        // re-run a lapsed lease allows (at-least-once); one begun after it must not exist.
        const begunAt = (r: { tier: number; attempt: number }) => rec.history.find((h) => h.tier === r.tier && h.attempt === r.attempt)?.startedAt;
        const late = list.filter((r) => {
          if (r.start <= done) return false;
          const begun = begunAt(r);
          if (begun !== undefined && Date.parse(begun) <= done) {
            rerunsBeforeSuccess++;
            return false;
          }
          return true;
        });
        runsAfterSuccess += late.length;
        if (debug && late.length) {
          const at = (ms: number) => `${((ms - started) / 1000).toFixed(1)}s`;
          log(`RUN AFTER SUCCESS ${id} (${plans[id]}) succeeded ${at(done)}: ${list.map((r) => `pid ${r.pid} ${at(r.start)}-${at(r.end)}`).join(', ')}`);
          for (const h of rec.history)
            log(`  ${h.tier}/${h.attempt} ${h.outcome} ${at(Date.parse(h.startedAt))}-${h.finishedAt ? at(Date.parse(h.finishedAt)) : '?'}`);
        }
      }
    }
    // Jobs on the other worker must not notice a SIGKILL of worker 0 (bench/chaos-other-worker.ts).
    const { details, ...otherWorker } = otherWorkerCheck({
      kills: killEvents,
      runs,
      // Only the poison job's kills excuse a run: the chaos SIGKILLs worker 0 alone, so a
      // SIGKILL of the other worker is the poison's. Any other exit (a crash of its own)
      // does not excuse the runs it took down: that is what the check is for.
      deaths: deaths.filter((d) => d.signal === 'SIGKILL'),
      outcome: (id, tier, attempt) => records.get(id)?.history.find((h) => h.tier === tier && h.attempt === attempt)?.outcome,
      now: settledAt,
    });
    for (const line of details) log(`OTHER WORKER AFFECTED ${line}`);
    return {
      tasks: ids.length,
      lost,
      stuck,
      doubleTerminal,
      missingNotifications,
      doubleRuns,
      runsAfterSuccess,
      rerunsBeforeSuccess,
      poison,
      innocentPoisoned,
      otherWorker,
      states,
      kills,
      workerRestarts,
      firestoreRestarts,
      firestoreRestartMs,
      notifyCalls,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    // A cleanup may not hold the report back: a server with a connection still open
    // (a push parked in the balancer, a client's keep-alive) would wait for it forever.
    for (const c of cleanups.reverse()) {
      try {
        await Promise.race([c(), new Promise((r) => setTimeout(r, 10_000).unref())]);
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
    ['re-runs begun before it (a lapsed lease: at-least-once)', r.rerunsBeforeSuccess],
    ['poison tasks failed as PoisonTask', `${r.poison.failedAsPoison}/${r.poison.tasks} (crashes ${r.poison.crashes.join(', ')})`],
    ['innocent lineages failed as PoisonTask', r.innocentPoisoned],
    [
      'other worker across the SIGKILLs: runs / affected',
      `${r.otherWorker.runs} / ${r.otherWorker.affected}${r.otherWorker.diedWithTheirOwnWorker ? ` (${r.otherWorker.diedWithTheirOwnWorker} more died with their own worker)` : ''}`,
    ],
    [
      'end states',
      Object.entries(r.states)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    ['SIGKILLs (chaos) / worker restarts (incl. poison)', `${r.kills} / ${r.workerRestarts}`],
    ['Firestore emulator restarts (data kept, same port)', `${r.firestoreRestarts}, workers cut off for ${r.firestoreRestartMs} ms`],
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
    r.otherWorker.affected === 0 &&
    r.otherWorker.runs > 0 &&
    r.poison.failedAsPoison === r.poison.tasks
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  const report = await runChaos(process.env.CHAOS_SEED ? { seed: Number(process.env.CHAOS_SEED) } : {});
  process.stdout.write(`${formatReport(report)}\n`);
  process.exit(chaosPassed(report) ? 0 : 1);
}
