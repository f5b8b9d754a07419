// Starts a gcloud emulator (Pub/Sub or Firestore) on a free port for one test
// file and stops it afterwards. A missing gcloud or emulator is a failure,
// never a skip: these are the real local servers the tests are meant to use.
//
// Process tree: sh (watchdog, own process group) -> gcloud (python) -> sh -> java.
// Why a watchdog: gcloud's python exits on SIGTERM before its java child does,
// and a test killed by tap's timeout never runs stop(); either way java was
// orphaned and held the test's stdout pipes open. The watchdog reads its stdin
// (a pipe from this process); when this process exits for ANY reason the pipe
// closes and the watchdog kills its whole process group, java included.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

export interface RunningEmulator {
  /** host:port, the value for PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST. */
  host: string;
  port: number;
  /** Kills the whole process tree and resolves once no process of it is left. */
  stop(): Promise<void>;
}

export type EmulatorKind = 'pubsub' | 'firestore';

const COMMANDS: Record<EmulatorKind, string[]> = {
  pubsub: ['beta', 'emulators', 'pubsub', 'start'],
  firestore: ['emulators', 'firestore', 'start'],
};

// `gcloud "$@" &` keeps gcloud in the watchdog's group (no job control in sh);
// `cat` returns when our end of stdin closes (stop() or this process dying).
const WATCHDOG = 'gcloud "$@" </dev/null & cat >/dev/null; kill -KILL 0';

const MAX_OUTPUT = 20_000;

export async function startGcloudEmulator(
  kind: EmulatorKind,
  opts: { project?: string; timeoutMs?: number } = {},
): Promise<RunningEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  // A private gcloud config dir: gcloud writes emulators/<kind>/env.yaml (and
  // Pub/Sub its data) there, so parallel test files never share state.
  const config = mkdtempSync(join(tmpdir(), `gcloud-${kind}-`));
  const args = [...COMMANDS[kind], `--host-port=${host}`, `--project=${opts.project ?? 'test-project'}`, '--quiet'];
  const child = spawn('sh', ['-c', WATCHDOG, 'gcloud-emulator', ...args], {
    detached: true, // own process group, so the tree can be killed as one
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, CLOUDSDK_CONFIG: config, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
  });
  const pgid = child.pid;
  let output = '';
  const collect = (b: Buffer) => {
    output = (output + b.toString()).slice(-MAX_OUTPUT);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  // A forgotten stop() must not keep the test process alive: the watchdog
  // cleans up when the process exits.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();

  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= killTree(pgid, child.stdin).finally(() => rmSync(config, { recursive: true, force: true })));

  if (pgid === undefined) {
    const err = await spawnError;
    rmSync(config, { recursive: true, force: true });
    throw new Error(`cannot start the ${kind} emulator: ${err.message}`);
  }
  try {
    await waitUntilServing(`http://${host}/`, timeoutMs, () => (exited ? output : undefined));
  } catch (err) {
    await stop();
    throw new Error(`${kind} emulator on ${host}: ${(err as Error).message}\n--- output ---\n${output.slice(-3000)}`);
  }
  void exit;
  return { host, port, stop };
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

async function killTree(pgid: number, stdin: NodeJS.WritableStream): Promise<void> {
  stdin.end();
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
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    // No procfs: fall back to kill(0), which also counts zombies.
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after "(comm)": state ppid pgrp ...
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[2]) === pgid && rest[0] !== 'Z') return true;
  }
  return false;
}
