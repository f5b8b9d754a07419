// The `exec` job: run a listed command, optionally on a script inside JOBS_DIR,
// as the seed's script-running worker does (DESIGN §4). Its args, outcomes and
// sandbox are in the README ("Built-in job outcomes", "The exec sandbox").
//
// Why it is built this way: no shell, and the child gets only the EXEC_ENV_PASS
// allow-list plus the job's env, never the worker's environment (it holds
// credentials); loader and interpreter start-up variables are refused because
// the listed command must stay the one that runs. The child runs in its own
// process group and, on Linux, its whole tree is tracked (process-group.ts),
// because a timed-out or cancelled script's grandchildren (setsid() escapees
// included) would otherwise outlive it.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { Type } from '@sinclair/typebox';
import type { JobResult } from '../interfaces.ts';
import { defineJob, type JobFactory } from './define-job.ts';
import { PermanentError, RetryableError, WrongArgType } from './errors.ts';
import { terminateTree, trackProcessTree } from './process-group.ts';
import { resolveScriptPath } from './script-path.ts';
import { createTailBuffer } from './tail-buffer.ts';

export const ExecArgs = Type.Object({
  command: Type.String({ minLength: 1 }),
  path: Type.Optional(Type.String({ minLength: 1 })),
  args: Type.Optional(Type.Array(Type.String())),
  env: Type.Optional(Type.Record(Type.String(), Type.String())),
});

export interface ExecOutput {
  /** Lineage id of the task. */
  id: string;
  stream: 'stdout' | 'stderr';
  chunk: string;
}

export interface ExecJobOptions {
  /** EXEC_COMMANDS: the only commands a job may name. Empty = every job refused. */
  commands: readonly string[];
  /** JOBS_DIR: where scripts named by `path` live; unset = `path` refused. */
  jobsDir?: string;
  /** Exit codes that mean "do not retry". */
  permanentExitCodes?: readonly number[];
  /** Bytes kept per stream (the tail); default 64 KiB. */
  maxOutputBytes?: number;
  /** Time between SIGTERM and SIGKILL; default 5 s. */
  killGraceMs?: number;
  /** Variables every child gets; default PATH (standard dirs), HOME, LANG=C.UTF-8. */
  env?: Record<string, string>;
  /** Live output, chunk by chunk (e.g. to stream it to an operator). */
  onOutput?: (out: ExecOutput) => void;
}

const DEFAULT_MAX_OUTPUT = 64 * 1024;
const DEFAULT_KILL_GRACE_MS = 5000;
const STANDARD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/**
 * Variables that change what a dynamic loader, shell or interpreter runs at
 * start-up: never passed, whatever EXEC_ENV_PASS or the job's env says.
 */
export const NEVER_PASS_ENV =
  /^(LD_.*|DYLD_.*|NODE_OPTIONS|NODE_PATH|NODE_REPL_EXTERNAL_MODULE|BASH_ENV|ENV|BASH_FUNC_.*|SHELLOPTS|BASHOPTS|PS4|PROMPT_COMMAND|IFS|CDPATH|GLOBIGNORE|GCONV_PATH|LOCPATH|NLSPATH|GLIBC_TUNABLES|MALLOC_.*|HOSTALIASES|RESOLV_HOST_CONF|PERL5OPT|PERL5LIB|PERLLIB|PERL5DB|PYTHONSTARTUP|PYTHONPATH|PYTHONHOME|PYTHONINSPECT|PYTHONBREAKPOINT|RUBYOPT|RUBYLIB|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|CLASSPATH|LUA_INIT.*|LUA_PATH.*|LUA_CPATH.*|TCLLIBPATH|PHPRC|PHP_INI_SCAN_DIR|GIT_.*|SSL_CERT_FILE|SSL_CERT_DIR|OPENSSL_CONF|OPENSSL_ENGINES|TMPPREFIX|ZDOTDIR)$/;
/** The job's own env may not set these either (PATH: the listed command must stay the one that runs). */
const FORBIDDEN_ENV = (name: string) => name === 'PATH' || NEVER_PASS_ENV.test(name);
/** Set in every child's environment: finds a job's processes that left its tree. */
const MARKER_VAR = 'EXECUTOR_EXEC_RUN';

export function execJob(opts: ExecJobOptions): JobFactory {
  const commands = new Set(opts.commands);
  const permanentCodes = new Set(opts.permanentExitCodes ?? []);
  const maxOutput = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const graceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;

  return defineJob({
    type: 'exec',
    args: ExecArgs,
    async run(args, _data, ctx) {
      if (!commands.has(args.command)) {
        throw new PermanentError(`command "${args.command}" is not in EXEC_COMMANDS`, { code: 'CommandNotAllowed' });
      }
      for (const name of Object.keys(args.env ?? {})) {
        if (FORBIDDEN_ENV(name) || name === MARKER_VAR)
          throw new WrongArgType(`env.${name}`, 'a variable other than PATH and loader/interpreter start-up variables', '(refused)');
      }
      const script = args.path === undefined ? undefined : await resolveScriptPath(opts.jobsDir, args.path);
      const argv = [...(script ? [script] : []), ...(args.args ?? [])];
      const base = opts.env ?? { PATH: STANDARD_PATH, HOME: homedir(), LANG: 'C.UTF-8' };
      const run = randomUUID();
      const env: Record<string, string> = Object.create(null);
      for (const [k, v] of Object.entries(base)) if (!NEVER_PASS_ENV.test(k)) env[k] = v;
      Object.assign(env, args.env, { [MARKER_VAR]: run });
      if (ctx.signal.aborted) throw ctx.signal.reason;

      const child = spawn(args.command, argv, {
        ...(opts.jobsDir ? { cwd: opts.jobsDir } : {}),
        env,
        detached: true, // own process group, so the whole tree can be killed
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out = createTailBuffer(maxOutput);
      const err = createTailBuffer(maxOutput);
      let recent = '';
      const collect = (stream: 'stdout' | 'stderr', buf: Buffer) => {
        (stream === 'stdout' ? out : err).push(buf);
        const chunk = buf.toString('utf8');
        recent = (recent + chunk).slice(-2048);
        opts.onOutput?.({ id: ctx.id, stream, chunk });
      };
      child.stdout.on('data', (b: Buffer) => collect('stdout', b));
      child.stderr.on('data', (b: Buffer) => collect('stderr', b));
      ctx.setStatus(() => `${child.exitCode === null ? 'running' : 'exited'} pid ${child.pid ?? '-'}${lastLines(recent)}`);

      const tree = child.pid !== undefined ? trackProcessTree(child.pid, { marker: `${MARKER_VAR}=${run}` }) : undefined;
      if (tree) liveTrees.add(tree);
      killTreesOnExit();
      let killing: Promise<void> | undefined;
      const kill = () => {
        if (tree) killing ??= terminateTree(tree, graceMs);
      };
      ctx.signal.addEventListener('abort', kill, { once: true });
      try {
        const ended = await waitExit(child);
        if ('error' in ended) {
          throw new PermanentError(`cannot start "${args.command}": ${(ended.error as NodeJS.ErrnoException).code ?? ended.error.message}`, {
            code: 'SpawnFailed',
            cause: ended.error,
          });
        }
        // The main process is gone; whatever it left behind (in its group, or
        // escaped with setsid) goes too.
        tree?.scan(true);
        if (tree?.alive()) kill();
        if (killing) await killing;
        await streamsClosed(child, 1000);
        if (ctx.signal.aborted) throw ctx.signal.reason;
        return outcome(ended, out.text(), err.text(), out.dropped, err.dropped, permanentCodes);
      } finally {
        ctx.signal.removeEventListener('abort', kill);
        tree?.stop();
        if (tree) liveTrees.delete(tree);
      }
    },
  });
}

/**
 * Trees of exec jobs still running or being killed. If the worker exits
 * before a kill grace ends (SHUTDOWN_GRACE ran out), they get SIGKILL on the
 * way out: a child must never outlive the worker. Installed on first use,
 * never at import.
 */
const liveTrees = new Set<ReturnType<typeof trackProcessTree>>();
let exitHookInstalled = false;
function killTreesOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const tree of liveTrees) tree.signal('SIGKILL');
  });
}

type Ended = { code: number | null; signal: NodeJS.Signals | null } | { error: Error };

function waitExit(child: ReturnType<typeof spawn>): Promise<Ended> {
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Wait for stdout/stderr to drain; a leftover holder of the pipes is cut off after `ms`. */
async function streamsClosed(child: ReturnType<typeof spawn>, ms: number): Promise<void> {
  if (child.stdout?.closed !== false && child.stderr?.closed !== false) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve();
    }, ms);
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function outcome(
  ended: { code: number | null; signal: NodeJS.Signals | null },
  stdout: string,
  stderr: string,
  droppedOut: number,
  droppedErr: number,
  permanentCodes: ReadonlySet<number>,
): JobResult {
  const truncated = droppedOut || droppedErr ? { truncated: { stdout: droppedOut, stderr: droppedErr } } : {};
  if (ended.code === null) {
    const exit = -1;
    const error = new RetryableError(`killed by ${ended.signal ?? 'a signal'}`, { code: 'Killed' }).toInfo();
    return { state: 'failed', exit, stdout, stderr, error, result: { exit, signal: ended.signal, stdout, stderr, ...truncated } };
  }
  const exit = ended.code;
  const result = { exit, stdout, stderr, ...truncated };
  if (exit === 0) return { state: 'succeeded', exit, stdout, stderr, result };
  const error = permanentCodes.has(exit)
    ? new PermanentError(`exited with ${exit} (a permanent exit code)`, { code: 'ExitCode' }).toInfo()
    : new RetryableError(`exited with ${exit}`, { code: 'ExitCode' }).toInfo();
  return { state: 'failed', exit, stdout, stderr, error, result };
}

function lastLines(text: string, n = 5): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.length ? `: ${lines.slice(-n).join(' | ')}` : '';
}
