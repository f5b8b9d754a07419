// Bench figures that drive whole flows: many jobs in flight in one worker and a
// chain of tiers in `executor dev` (the emulator's dispatch rate: emulator.ts).
import { Agent, createServer, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Row, SERVE_ENV } from './common.ts';
import { freePort, startProc } from './proc.ts';

interface Settings {
  inflight: number;
  emulatorTasks: number;
  chainTasks: number;
  executorEntry: string;
}

const mib = (b: number) => (b / 1024 / 1024).toFixed(0);

async function postJson(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : {};
}

/** Run `fn(i)` for i in [0, n) with at most `width` at once. */
async function pool(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** RSS of one `serve` process while `inflight` echo jobs sleep at once. */
export async function inflightFigure(s: Settings, raw: Record<string, unknown>): Promise<Row> {
  const serve = await startProc([s.executorEntry, 'serve'], { ...SERVE_ENV, MAX_CONCURRENCY: String(s.inflight * 2) });
  try {
    await sleep(1000);
    const idle = serve.rss();
    const body = JSON.stringify({ type: 'echo', args: { sleepMs: 4000 }, data: { hello: 'world' } });
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const statuses: number[] = [];
    const replies = Array.from(
      { length: s.inflight },
      (_, i) =>
        new Promise<void>((resolve) => {
          const req = request(
            {
              host: '127.0.0.1',
              port: serve.port,
              path: '/tasks',
              method: 'POST',
              agent,
              headers: { 'x-cloudtasks-taskname': `inflight-${i}`, 'content-length': Buffer.byteLength(body) },
            },
            (res) => {
              statuses.push(res.statusCode ?? 0);
              res.resume();
              res.on('end', resolve);
            },
          );
          req.on('error', () => {
            statuses.push(0);
            resolve();
          });
          req.end(body);
        }),
    );
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, serve.rss());
    }, 100);
    await Promise.all(replies);
    clearInterval(sampler);
    agent.destroy();
    const ok = statuses.filter((c) => c === 200).length;
    raw.inflight = { idle, peak, ok, jobs: s.inflight };
    return {
      figure: `RSS with ${s.inflight.toLocaleString('en-US')} in-flight jobs (echo sleeping 4 s)`,
      executor: `${mib(peak)} MiB peak`,
      baseline: `${mib(idle)} MiB idle`,
      value: peak / 1024 / 1024,
      target: '≤ 150 MiB',
      met: peak <= 150 * 1024 * 1024,
      ...(ok !== s.inflight ? { note: `${s.inflight - ok} replies were not 200` } : {}),
    };
  } finally {
    await serve.stop();
  }
}

/** `executor dev` with a 3-tier chain: N tasks, 20% failing on every tier, until every lineage ended. */
export async function chainFigure(s: Settings, raw: Record<string, unknown>): Promise<Row> {
  const emulatorPort = await freePort();
  const dev = await startProc(
    [s.executorEntry, 'dev'],
    {
      EMULATOR_PORT: String(emulatorPort),
      EMULATOR_STATE: '',
      HOST: '127.0.0.1',
      CHAIN: 'incoming:2,incoming-2:2,incoming-3:2',
      NOTIFY_ON: 'succeeded,failed',
      LOG_LEVEL: 'warn',
      MAX_CONCURRENCY: '1000',
    },
    { timeoutMs: 60_000 },
  );
  // Every lineage's notifications come here (envelope notify.url, through the
  // notifier queue), so the count needs no bounded sink and no per-id polling.
  const terminal = new Map<string, string>();
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const event = JSON.parse(Buffer.concat(chunks).toString()) as { type: string; subject: string };
        if (event.type === 'executor.task.succeeded' || event.type === 'executor.task.failed') terminal.set(event.subject, event.type);
      } catch {
        // not an event; ignored
      }
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const notifyUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/events`;
  try {
    const base = `http://127.0.0.1:${emulatorPort}/v2/projects/local-project/locations/us-central1/queues/incoming/tasks`;
    const failing = (i: number) => i % 5 === 0;
    const t0 = performance.now();
    await pool(s.chainTasks, 32, async (i) => {
      const envelope = { type: 'echo', id: `chain-${i}`, ...(failing(i) ? { args: { fail: 'retryable' } } : {}), data: { i }, notify: { url: notifyUrl } };
      await postJson(base, {
        task: {
          name: `projects/local-project/locations/us-central1/queues/incoming/tasks/chain-${i}`,
          httpRequest: { url: `${dev.url}/tasks`, httpMethod: 'POST', body: Buffer.from(JSON.stringify(envelope)).toString('base64') },
        },
      });
    });
    const enqueued = performance.now();
    const deadline = Date.now() + 300_000;
    while (terminal.size < s.chainTasks && Date.now() < deadline) await sleep(200);
    const ended = terminal.size;
    const failed = [...terminal.values()].filter((t) => t === 'executor.task.failed').length;
    const secs = (performance.now() - t0) / 1000;
    raw.chain = { tasks: s.chainTasks, ended, failed, secs, enqueueSecs: (enqueued - t0) / 1000 };
    return {
      figure: `${s.chainTasks.toLocaleString('en-US')} tasks through a 3-tier chain in \`executor dev\`, 20% failing on every tier`,
      executor: `${secs.toFixed(1)} s, ${ended.toLocaleString('en-US')} ended (${failed} failed)`,
      baseline: `enqueue took ${((enqueued - t0) / 1000).toFixed(1)} s`,
      value: secs,
      target: '< 60 s, every lineage ended',
      met: secs < 60 && ended === s.chainTasks,
    };
  } finally {
    await dev.stop();
    receiver.close();
  }
}
