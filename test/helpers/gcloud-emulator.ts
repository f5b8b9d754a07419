// Starts a gcloud emulator (Pub/Sub or Firestore) on a free port for one test
// file and stops it afterwards. A missing gcloud or emulator is a failure,
// never a skip: these are the real local servers the tests are meant to use.
//
// Process tree: gcloud (python) -> sh -> java, in one process group. Two traps
// found the hard way: (1) gcloud moves itself into a new process group unless
// it is a session leader, and on SIGTERM kills only its direct child, so java
// was orphaned; we spawn it detached (setsid) so the group stays whole and we
// signal the group. (2) A test killed by tap's timeout never runs stop(), and
// the orphaned java held the test's stdout pipes open; a watchdog process
// reads a pipe from this process and kills the group when it closes, which
// happens when this process exits for any reason, SIGKILL included.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readProcTable } from '../../src/jobs/process-group.ts';
import { freePort } from './free-port.ts';

export interface RunningEmulator {
  /** host:port, the value for PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST. */
  host: string;
  port: number;
  /** Process group of gcloud and its java child (for leak checks). */
  pgid: number;
  /** Kills the whole process tree and resolves once no process of it is left. */
  stop(): Promise<void>;
}

export type EmulatorKind = 'pubsub' | 'firestore';

const COMMANDS: Record<EmulatorKind, string[]> = {
  pubsub: ['beta', 'emulators', 'pubsub', 'start'],
  firestore: ['emulators', 'firestore', 'start'],
};

// $1 = the emulator's process group id. `cat` returns at EOF on stdin.
const WATCHDOG = 'cat >/dev/null; kill -KILL -"$1" 2>/dev/null; exit 0';

const MAX_OUTPUT = 20_000;

export async function startGcloudEmulator(
  kind: EmulatorKind,
  opts: {
    project?: string;
    timeoutMs?: number;
    /** gcloud executable. */
    gcloud?: string;
    /** A fixed port (a restart on the port the clients know); default a free one. */
    port?: number;
    /** More flags for the emulator (`--import-data=...`). */
    args?: string[];
  } = {},
): Promise<RunningEmulator> {
  const port = opts.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  // A private gcloud config dir: gcloud writes emulators/<kind>/env.yaml (and
  // Pub/Sub its data) there, so parallel test files never share state.
  const config = mkdtempSync(join(tmpdir(), `gcloud-${kind}-`));
  const args = [...COMMANDS[kind], `--host-port=${host}`, `--project=${opts.project ?? 'test-project'}`, '--quiet', ...(opts.args ?? [])];
  const child = spawn(opts.gcloud ?? 'gcloud', args, {
    detached: true, // session leader: gcloud then keeps java in its process group
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CLOUDSDK_CONFIG: config, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
  });
  let output = '';
  const collect = (b: Buffer) => {
    output = (output + b.toString()).slice(-MAX_OUTPUT);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = false;
  child.once('exit', () => (exited = true));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const pgid = child.pid;
  if (pgid === undefined) {
    const err = await spawnError;
    rmSync(config, { recursive: true, force: true });
    throw new Error(`cannot start the ${kind} emulator (is gcloud installed?): ${err.message}`);
  }
  const watchdog = spawn('sh', ['-c', WATCHDOG, 'gcloud-emulator-watchdog', String(pgid)], {
    detached: true, // survives our process group being signalled
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // A forgotten stop() must not keep the test process alive (the watchdog
  // cleans up when it exits), so nothing here holds the event loop.
  for (const handle of [child, watchdog, child.stdout, child.stderr, watchdog.stdin]) {
    (handle as unknown as { unref?: () => void }).unref?.();
  }

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= killGroup(pgid).finally(() => {
      watchdog.stdin.end();
      child.stdout.destroy();
      child.stderr.destroy();
      rmSync(config, { recursive: true, force: true });
    }));

  try {
    await waitUntilServing(`http://${host}/`, timeoutMs, () => (exited ? output : undefined));
    await waitUntilWarm(kind, host, opts.project ?? 'test-project', timeoutMs);
  } catch (err) {
    await stop();
    throw new Error(`${kind} emulator on ${host}: ${(err as Error).message}\n--- output ---\n${output.slice(-3000)}`);
  }
  return { host, port, pgid, stop };
}

/** Both emulators answer `GET /` with 200 "Ok" once they accept requests. */
async function waitUntilServing(url: string, timeoutMs: number, exitedOutput: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = exitedOutput();
    if (out !== undefined) {
      const missing = /not found|No such file|command not found|not installed/i.test(out) ? ' (is gcloud and the emulator component installed?)' : '';
      throw new Error(`exited before serving${missing}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`not serving within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * `GET /` answers "Ok" as soon as the HTTP server listens, but the emulator
 * loads its API lazily: on a loaded 2-core machine the first document write
 * took 10 s (then 0.2 s), which is what made tests with a 3-5 s request
 * timeout flaky. Ready means the API itself has answered once: a document
 * write (Firestore) or a topic list (Pub/Sub), waited for as long as the
 * start-up deadline allows.
 */
async function waitUntilWarm(kind: EmulatorKind, host: string, project: string, timeoutMs: number): Promise<void> {
  const url =
    kind === 'firestore'
      ? `http://${host}/v1/projects/${project}/databases/(default)/documents/emulator-warmup/probe`
      : `http://${host}/v1/projects/${project}/topics`;
  const init: RequestInit =
    kind === 'firestore'
      ? {
          method: 'PATCH',
          body: JSON.stringify({ fields: { at: { stringValue: new Date().toISOString() } } }),
          headers: { 'content-type': 'application/json' },
        }
      : {};
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(Math.max(1000, deadline - Date.now())) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // still starting
    }
    if (Date.now() > deadline) throw new Error(`API not answering within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function killGroup(pgid: number): Promise<void> {
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) {
      signalGroup(pgid, 'SIGKILL');
      if (Date.now() > deadline + 5000) throw new Error(`emulator process group ${pgid} survived SIGKILL`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** True while a live (non-zombie) process is in the group. */
export function groupAlive(pgid: number): boolean {
  const table = readProcTable();
  if (!table) {
    // No procfs: fall back to kill(0), which also counts zombies.
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  return table.some((p) => p.pgrp === pgid && p.state !== 'Z');
}
