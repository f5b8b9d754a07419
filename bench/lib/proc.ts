// Child processes for the bench: each measured server runs in its own process,
// so the load generator, the baseline and executor never share a heap.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Proc {
  pid: number;
  port: number;
  url: string;
  /** Resident set size now, in bytes (Linux /proc). */
  rss(): number;
  /**
   * Started with `inspect`: a full garbage collection through the inspector
   * (HeapProfiler.collectGarbage, so the server itself needs no --expose-gc
   * or debug route), then its heap in use and RSS.
   */
  collectGarbage(): Promise<{ heapUsed: number; rss: number }>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Start `node <args>` with env + PORT, wait until GET readyPath answers 200. */
export async function startProc(
  args: string[],
  env: Record<string, string>,
  opts: { port?: number; readyPath?: string; timeoutMs?: number; inspect?: boolean } = {},
): Promise<Proc> {
  const port = opts.port ?? (await freePort());
  const child: ChildProcess = spawn(process.execPath, [...(opts.inspect ? ['--inspect=127.0.0.1:0'] : []), ...args], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let inspector: string | undefined;
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
    // Kept apart: the server's log lines soon push it out of `out`.
    inspector ??= /Debugger listening on (ws:\/\/\S+)/.exec(out)?.[1];
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`${args.join(' ')} exited before it was ready:\n${out}`);
    try {
      const res = await fetch(url + (opts.readyPath ?? '/healthz'));
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${args.join(' ')} not ready within the deadline:\n${out}`);
    }
    await sleep(100);
  }
  return {
    pid: child.pid!,
    port,
    url,
    rss: () => rssOf(child.pid!),
    collectGarbage: async () => {
      if (!inspector) throw new Error('not started with inspect');
      const heapUsed = await inspectorGc(inspector);
      return { heapUsed, rss: rssOf(child.pid!) };
    },
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** Collect garbage in the process behind the inspector URL `ws`; resolves with its heap in use afterwards. */
async function inspectorGc(ws: string): Promise<number> {
  const socket = new WebSocket(ws);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`inspector at ${ws} refused the connection`)), { once: true });
  });
  let id = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<{ result?: { result?: { value?: unknown } } }>((resolve) => {
      const mine = ++id;
      const onMessage = (e: MessageEvent) => {
        const msg = JSON.parse(String(e.data)) as { id?: number };
        if (msg.id !== mine) return;
        socket.removeEventListener('message', onMessage);
        resolve(msg as never);
      };
      socket.addEventListener('message', onMessage);
      socket.send(JSON.stringify({ id: mine, method, params }));
    });
  try {
    // Twice: the first pass can leave garbage that finalisers freed.
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const res = await call('Runtime.evaluate', { expression: 'process.memoryUsage().heapUsed', returnByValue: true });
    return Number(res.result?.result?.value ?? Number.NaN);
  } finally {
    socket.close();
  }
}
