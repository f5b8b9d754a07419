// Stopping a job's whole process group: a script's own children (`sleep &`,
// pipelines) must die with it, so exec jobs run detached (their own group) and
// are signalled through the negative pid.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Send `signal` to every process of group `pgid`; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing left (EPERM cannot happen for our own children)
  }
}

/**
 * True while a process of the group still runs. Orphans are reparented to
 * PID 1, and a PID 1 that reaps slowly (or never: node or a bare entrypoint
 * in a container) leaves zombies that still answer kill(-pgid, 0); so on Linux
 * the group's members are read from /proc and zombies do not count.
 */
export function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return true; // no /proc: trust kill(-pgid, 0)
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

/**
 * SIGTERM the group, wait up to `graceMs` for it to empty, then SIGKILL and
 * wait up to a second more.
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  if (await waitGone(pgid, graceMs)) return;
  signalGroup(pgid, 'SIGKILL');
  await waitGone(pgid, 1000);
}

async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!groupAlive(pgid)) return true;
    await sleep(25);
  }
  return !groupAlive(pgid);
}

// ---------------------------------------------------------------- the tree
//
// A process group is not enough: a child that calls setsid() (a daemonising
// script, `setsid sleep &`) leaves the group and would outlive the job. On
// Linux the tree is therefore tracked too: while the job runs, /proc is read
// every `pollMs` and every process whose parent chain leads to the job (or to
// a process already recorded) is recorded with its start time (so a reused
// pid is never signalled). A child that forks and whose parent exits between
// two polls is reparented out of reach of the chain; it still carries the
// job's marker variable in its environment, which a final sweep reads.

export interface ProcEntry {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
  /** Start time in clock ticks since boot (field 22): with the pid, a process's identity. */
  start: string;
}

/** Every process in /proc (pid, parent, group, state); undefined without procfs. */
export function readProcTable(): ProcEntry[] | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const out: ProcEntry[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime ..."
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.push({ pid: Number(name), ppid: Number(f[1]), pgrp: Number(f[2]), state: f[0] ?? '', start: f[19] ?? '' });
  }
  return out;
}

function hasMarker(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`).includes(marker);
  } catch {
    return false;
  }
}

export interface ProcessTree {
  /** Record every live descendant now; with `sweep`, also every process carrying the marker. */
  scan(sweep?: boolean, table?: ProcEntry[]): void;
  /** True while any recorded process or group member still runs (zombies do not count). */
  alive(): boolean;
  /** Signal the group and every recorded process. */
  signal(signal: NodeJS.Signals): void;
  /** Pids recorded so far (for tests and logs). */
  readonly pids: ReadonlySet<number>;
  /** Stop polling. */
  stop(): void;
}

/**
 * Track the tree under `rootPid` (also its process group id). `marker` is a
 * `NAME=value` string set in the root's environment, or undefined.
 */
/**
 * One reader of /proc for every tracked tree: with many exec jobs at once,
 * each tick reads the process table once, not once per job.
 */
const POLL_MS = 100;
const subscribers = new Set<(table: ProcEntry[]) => void>();
let poller: NodeJS.Timeout | undefined;

function subscribe(fn: (table: ProcEntry[]) => void): void {
  subscribers.add(fn);
  if (poller) return;
  poller = setInterval(() => {
    const table = readProcTable();
    if (table) for (const f of subscribers) f(table);
  }, POLL_MS);
  poller.unref();
}

function unsubscribe(fn: (table: ProcEntry[]) => void): void {
  subscribers.delete(fn);
  if (subscribers.size === 0 && poller) {
    clearInterval(poller);
    poller = undefined;
  }
}

export function trackProcessTree(rootPid: number, opts: { marker?: string } = {}): ProcessTree {
  const known = new Map<number, string>(); // pid -> start time

  function scan(sweep = false, given?: ProcEntry[]): void {
    const table = given ?? readProcTable();
    if (!table) return;
    const byPid = new Map(table.map((e) => [e.pid, e]));
    if (!known.has(rootPid)) {
      const root = byPid.get(rootPid);
      if (root) known.set(rootPid, root.start);
    }
    // Children of recorded processes, repeatedly, until nothing new (a loop, not recursion).
    let added = true;
    while (added) {
      added = false;
      for (const e of table) {
        if (known.has(e.pid) || e.state === 'Z' || e.state === 'X') continue;
        const parentStart = known.get(e.ppid);
        const parent = byPid.get(e.ppid);
        if (e.pgrp === rootPid || (parentStart !== undefined && parent?.start === parentStart)) {
          known.set(e.pid, e.start);
          added = true;
        }
      }
    }
    if (sweep && opts.marker) {
      for (const e of table) {
        if (known.has(e.pid) || e.pid === process.pid || e.state === 'Z' || e.state === 'X') continue;
        if (hasMarker(e.pid, opts.marker)) known.set(e.pid, e.start);
      }
    }
  }

  /** Recorded processes that are still the same process and not zombies. */
  function live(): number[] {
    const table = readProcTable();
    if (!table) return [];
    const byPid = new Map(table.map((e) => [e.pid, e]));
    const out: number[] = [];
    for (const [pid, start] of known) {
      const e = byPid.get(pid);
      if (e && e.start === start && e.state !== 'Z' && e.state !== 'X') out.push(pid);
    }
    return out;
  }

  const onTick = (table: ProcEntry[]) => scan(false, table);
  scan();
  subscribe(onTick);

  return {
    scan,
    alive: () => groupAlive(rootPid) || live().length > 0,
    signal(signal) {
      signalGroup(rootPid, signal);
      for (const pid of live()) {
        try {
          process.kill(pid, signal);
        } catch {
          // gone meanwhile
        }
      }
    },
    get pids() {
      return new Set(known.keys());
    },
    stop() {
      unsubscribe(onTick);
    },
  };
}

/**
 * SIGTERM the whole tree (group, recorded descendants, marked strays), wait
 * up to `graceMs` for it to empty, then SIGKILL and wait up to a second more.
 * New descendants forked meanwhile are picked up on each check.
 */
export async function terminateTree(tree: ProcessTree, graceMs: number): Promise<void> {
  tree.scan(true);
  if (!tree.alive()) return;
  tree.signal('SIGTERM');
  const gone = async (ms: number) => {
    const end = Date.now() + ms;
    for (;;) {
      tree.scan(true);
      if (!tree.alive()) return true;
      if (Date.now() >= end) return false;
      await sleep(25);
    }
  };
  if (await gone(graceMs)) return;
  tree.signal('SIGKILL');
  if (await gone(1000)) return;
  tree.signal('SIGKILL'); // forked between the scan and the signal
  await gone(1000);
}
