// A CliIo that records what a command prints, and a dev stack for CLI tests.
import pino from 'pino';
import type { CliIo } from '../../src/cli/command.ts';
import { type DevStack, startDev } from '../../src/dev.ts';
import { freePort } from '../helpers/free-port.ts';

export interface CapturedIo extends CliIo {
  outLines: string[];
  errLines: string[];
  readonly stdout: string;
  readonly stderr: string;
}

export function captureIo(env: Record<string, string | undefined>): CapturedIo {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return {
    env,
    out: (l) => outLines.push(l),
    err: (l) => errLines.push(l),
    outLines,
    errLines,
    get stdout() {
      return outLines.join('\n');
    },
    get stderr() {
      return errLines.join('\n');
    },
  };
}

export const FAST_RETRY = { minBackoff: '0.1s', maxBackoff: '0.2s', maxDoublings: 1, maxRetryDuration: '0s' };

/** The whole local stack (emulator + worker + sink) on free ports, stopped at teardown. */
export async function devStack(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}): Promise<DevStack> {
  const s = await startDev(
    {
      PORT: String(await freePort()),
      EMULATOR_PORT: String(await freePort()),
      HOST: '127.0.0.1',
      CHAIN: 'incoming:2,incoming-2:2',
      NOTIFY_ON: 'all',
      LOG_LEVEL: 'silent',
      ...env,
    },
    pino({ level: 'silent' }),
    { retry: FAST_RETRY },
  );
  t.teardown(() => s.stop());
  return s;
}

/** The environment a user of `executor dev` gives the CLI (see devBanner). */
export function cliEnv(s: DevStack, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CLOUD_TASKS_EMULATOR_HOST: `127.0.0.1:${s.emulator.port}`,
    SERVICE_URL: s.server.url,
    CHAIN: 'incoming:2,incoming-2:2',
    JOB_TIMEOUT: '60s',
    REQUEST_TIMEOUT: '300s',
    ...extra,
  };
}
