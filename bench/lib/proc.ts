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
  opts: { port?: number; readyPath?: string; timeoutMs?: number } = {},
): Promise<Proc> {
  const port = opts.port ?? (await freePort());
  const child: ChildProcess = spawn(process.execPath, args, {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
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
