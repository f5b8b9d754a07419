// Runs the installed gcloud CLI against the emulator with a private config
// folder, so tests never touch the user's gcloud settings or credentials.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.ts';
import { startTarget, type Target } from './helpers.ts';

export interface GcloudResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Gcloud {
  /** Run `gcloud <args>`; never throws on a non-zero exit. */
  run(...args: string[]): Promise<GcloudResult>;
  /** Run with --format=json and parse stdout; throws when gcloud fails. */
  json(...args: string[]): Promise<unknown>;
  cleanup(): void;
}

function exec(args: string[], env: NodeJS.ProcessEnv): Promise<GcloudResult> {
  return new Promise((resolve, reject) => {
    execFile('gcloud', args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`cannot run gcloud (is it installed?): ${err.message}`));
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

export async function gcloudFor(emulatorUrl: string, project = 'test-project'): Promise<Gcloud> {
  const config = mkdtempSync(join(tmpdir(), 'gcloud-tasks-'));
  const env = { ...process.env, CLOUDSDK_CONFIG: config, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' };
  // The properties `gcloud config set` would write, written at once: five gcloud runs
  // cost seconds on a busy machine, and test files have a time limit.
  mkdirSync(join(config, 'configurations'));
  writeFileSync(join(config, 'active_config'), 'default');
  writeFileSync(
    join(config, 'configurations', 'config_default'),
    [
      '[core]',
      `project = ${project}`,
      'disable_usage_reporting = true',
      '',
      '[auth]',
      'disable_credentials = true',
      '',
      '[api_endpoint_overrides]',
      `cloudtasks = ${emulatorUrl}/`,
      '',
      '[component_manager]',
      'disable_update_check = true',
      '',
    ].join('\n'),
  );
  const run = (...args: string[]) => exec([...args, '--quiet'], env);
  return {
    run,
    async json(...args) {
      const r = await run(...args, '--format=json');
      if (r.code !== 0) throw new Error(`gcloud ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return JSON.parse(r.stdout || 'null');
    },
    cleanup: () => rmSync(config, { recursive: true, force: true }),
  };
}

export const LOC = '--location=us-central1';

/** Assert a gcloud run exited 0, with its stderr in the message when not. */
export const gcloudOk = (t: Test, r: GcloudResult, what: string) => t.equal(r.code, 0, `${what}: ${r.stderr}`);

/**
 * One emulator and one gcloud config for a test file (each gcloud call costs
 * about a second, so files share them), torn down with the file. `target`
 * starts a push target; `appEngine` also routes App Engine tasks to
 * `<target>/gae`.
 */
export async function gcloudFile(opts: { target: true } | { appEngine: true }): Promise<{ emu: RunningEmulator; gcloud: Gcloud; target: Target }>;
export async function gcloudFile(): Promise<{ emu: RunningEmulator; gcloud: Gcloud }>;
export async function gcloudFile(opts: { target?: boolean; appEngine?: boolean } = {}): Promise<{ emu: RunningEmulator; gcloud: Gcloud; target?: Target }> {
  const target = opts.target || opts.appEngine ? await startTarget() : undefined;
  const emu = await startEmulator({ logger: false, ...(opts.appEngine ? { appEngineUrl: `${target!.url}/gae` } : {}) });
  const gcloud = await gcloudFor(emu.url);
  t.teardown(async () => {
    gcloud.cleanup();
    await emu.close();
    await target?.close();
  });
  return { emu, gcloud, target };
}
