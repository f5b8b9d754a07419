// The only reader of the environment (STYLE §2). env-schema checks types and
// ranges; the parsers below turn strings into the shapes the service uses.
// Every failure is a ConfigError whose message is one line naming the variable.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import envSchema from 'env-schema';
import type { Tier } from './interfaces.ts';
import type { EventKind } from './schemas/index.ts';

export type Mode = 'serve' | 'dev' | 'emulator' | 'cli' | 'pull';

export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string, options?: ErrorOptions) {
    super(`${variable}: ${problem}`, options);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** Every default, written once (DESIGN §5); MODE_DEFAULTS below adds the ones that differ by mode. */
export const DEFAULTS = {
  PORT: 8080,
  HOST: '0.0.0.0',
  CHAIN: 'incoming',
  MAX_ATTEMPTS: 7,
  NOTIFY_ON: 'failed',
  NOTIFY_QUEUE: 'notifier',
  LEDGER: 'memory',
  LEDGER_TTL: '7d',
  /** The memory ledger's bound on the approximate bytes of the records it holds. */
  LEDGER_MAX_BYTES: 128 * 1024 * 1024,
  FIRESTORE_COLLECTION_PREFIX: 'executor',
  OFFLOAD_THRESHOLD: 512 * 1024,
  AUTH: 'oidc',
  MAX_CONCURRENCY: 100,
  JOB_TIMEOUT: '540s',
  SHUTDOWN_GRACE: '8s',
  REQUEST_TIMEOUT: '660s',
  EXEC_ENV_PASS: 'PATH,HOME,LANG,TZ,TMPDIR',
  MAX_CRASHES: 3,
  LEASE_MARGIN: '30s',
  SWEEP_INTERVAL: '5m',
  EMULATOR_PORT: 8123,
  LOG_LEVEL: 'info',
  OUTPUT_LIMIT: 10 * 1024 * 1024,
  /** The dashboard; dev turns it on. */
  UI: 'off',
} as const;

/** Where `executor dev` (and the CLI against its emulator) keep queues and blobs. */
export const DEV = {
  GOOGLE_CLOUD_PROJECT: 'local-project',
  LOCATION: 'us-central1',
  HOST: '127.0.0.1',
  SERVICE_ACCOUNT: 'executor-dev@local-project.iam.gserviceaccount.com',
  /** The emulator's state file under `executor dev` (relative to the working directory); `--fresh` ignores it. */
  EMULATOR_STATE: '.executor/emulator-state.json',
} as const;

const Str = (opts: { default?: string } = {}) => Type.Optional(Type.String(opts));
const Int = (min: number, max: number, def?: number) =>
  Type.Optional(Type.Integer({ minimum: min, maximum: max, ...(def === undefined ? {} : { default: def }) }));

const EnvSchema = Type.Object({
  PORT: Int(0, 65535, DEFAULTS.PORT),
  HOST: Str({ default: DEFAULTS.HOST }),
  GOOGLE_CLOUD_PROJECT: Str(),
  LOCATION: Str(),
  CHAIN: Str({ default: DEFAULTS.CHAIN }),
  MAX_ATTEMPTS: Int(1, 10000, DEFAULTS.MAX_ATTEMPTS),
  SERVICE_URL: Str(),
  NOTIFY_QUEUE: Str(),
  NOTIFY_URL: Str(),
  NOTIFY_TOPIC: Str(),
  NOTIFY_ON: Str({ default: DEFAULTS.NOTIFY_ON }),
  LEDGER: Type.Optional(Type.Union([Type.Literal('memory'), Type.Literal('firestore')])),
  LEDGER_TTL: Str({ default: DEFAULTS.LEDGER_TTL }),
  LEDGER_MAX_BYTES: Int(1024 * 1024, 2 ** 45, DEFAULTS.LEDGER_MAX_BYTES),
  FIRESTORE_COLLECTION_PREFIX: Str({ default: DEFAULTS.FIRESTORE_COLLECTION_PREFIX }),
  BUCKET: Str(),
  BLOB_DIR: Str(),
  OFFLOAD_THRESHOLD: Int(1024, 1024 * 1024, DEFAULTS.OFFLOAD_THRESHOLD),
  AUTH: Type.Optional(Type.Union([Type.Literal('oidc'), Type.Literal('none')])),
  ALLOW_UNAUTHENTICATED: Str(),
  OIDC_AUDIENCE: Str(),
  OIDC_INVOKERS: Str(),
  OIDC_ISSUER: Str(),
  OIDC_CERTS_URL: Str(),
  INVOKER_SERVICE_ACCOUNT: Str(),
  MAX_CONCURRENCY: Int(1, 100000, DEFAULTS.MAX_CONCURRENCY),
  PULL_MAX_MESSAGES: Int(1, 100000),
  JOB_TIMEOUT: Str({ default: DEFAULTS.JOB_TIMEOUT }),
  SHUTDOWN_GRACE: Str({ default: DEFAULTS.SHUTDOWN_GRACE }),
  REQUEST_TIMEOUT: Str({ default: DEFAULTS.REQUEST_TIMEOUT }),
  MAX_CRASHES: Int(1, 1000, DEFAULTS.MAX_CRASHES),
  LEASE_MARGIN: Str({ default: DEFAULTS.LEASE_MARGIN }),
  SWEEP_INTERVAL: Str({ default: DEFAULTS.SWEEP_INTERVAL }),
  EXEC_COMMANDS: Str(),
  EXEC_PERMANENT_EXIT_CODES: Str(),
  EXEC_ENV_PASS: Str({ default: DEFAULTS.EXEC_ENV_PASS }),
  BLOB_REF_KEY: Str(),
  JOBS_DIR: Str(),
  HTTP_JOB_ALLOW: Str(),
  JOBS_MODULE: Str(),
  CLOUD_TASKS_EMULATOR_HOST: Str(),
  EMULATOR_PORT: Int(0, 65535, DEFAULTS.EMULATOR_PORT),
  OUTPUT_LIMIT: Int(1024, 1024 * 1024 * 1024, DEFAULTS.OUTPUT_LIMIT),
  UI: Type.Optional(Type.Union([Type.Literal('on'), Type.Literal('off')])),
  EMULATOR_APP_ENGINE_URL: Str(),
  EMULATOR_STATE: Str(),
  EMULATOR_MAX_RATE: Int(1, 1_000_000),
  LOG_LEVEL: Type.Optional(
    Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: DEFAULTS.LOG_LEVEL },
    ),
  ),
});
type RawEnv = Static<typeof EnvSchema>;

/** Every variable loadConfig reads (README "Configuration" lists each). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(EnvSchema.properties);

export interface Config {
  mode: Mode;
  port: number;
  host: string;
  project: string;
  location: string;
  chain: Tier[];
  serviceUrl?: string;
  /** Said in the start-up log when SERVICE_URL was given as the push URL (…/tasks). */
  serviceUrlNote?: string;
  notify: { queue?: string; url?: string; topic?: string; on: Set<EventKind> };
  /** maxBytes: the memory ledger's LEDGER_MAX_BYTES. */
  ledger: { kind: 'memory' | 'firestore'; ttlMs: number; collectionPrefix: string; maxBytes: number };
  blobs: {
    bucket?: string;
    dir?: string;
    offloadThresholdBytes: number /** BLOB_REF_KEY: signs dataRefs that name another lineage's blob. */;
    refKey?: string;
  };
  auth: { mode: 'oidc' | 'none'; audiences: string[]; invokers: string[]; issuer?: string; certsUrl?: string };
  invokerServiceAccount?: string;
  maxConcurrency: number;
  /** `executor pull`: messages each subscription holds (flow control); default MAX_CONCURRENCY. */
  pullMaxMessages: number;
  /** Crashes (attempts begun, never finished) before a lineage fails as PoisonTask. */
  maxCrashes: number;
  /** The run lease lasts JOB_TIMEOUT plus this. */
  leaseMarginMs: number;
  /** The outbox sweep runs at start-up and this often. */
  sweepIntervalMs: number;
  jobTimeoutMs: number;
  shutdownGraceMs: number;
  /** The platform's request timeout (Cloud Run --timeout); only `doctor` reads it. */
  requestTimeoutMs: number;
  jobs: {
    execCommands: string[];
    execPermanentExitCodes: number[];
    jobsDir?: string;
    httpAllow: string[];
    module?: string;
    /** The worker's values of the EXEC_ENV_PASS names that are set: all an exec child inherits. */
    execEnv: Record<string, string>;
    /** SIGTERM to SIGKILL for an exec job's processes: 5 s, or half of SHUTDOWN_GRACE when that is less. */
    execKillGraceMs: number;
  };
  cloudTasksEmulatorHost?: string;
  emulatorPort: number;
  /** Where the emulator pushes App Engine tasks; dev: the worker. */
  emulatorAppEngineUrl?: string;
  /** The emulator's state file; absent = memory only. */
  emulatorState?: string;
  /** The highest maxDispatchesPerSecond the emulator accepts (EMULATOR_MAX_RATE); absent = Cloud Tasks' 500. */
  emulatorMaxRate?: number;
  logLevel: string;
  /** Bytes of a job's live output kept per attempt (OUTPUT_LIMIT); then truncated with a marker. */
  outputLimitBytes: number;
  /** The /ui dashboard (UI=on; default on in dev, off elsewhere). */
  ui: boolean;
}

/** Defaults that differ by mode (DESIGN §6). */
/**
 * dev's blob folder: shared by every dev run on the machine, so the CLI finds
 * what dev offloaded. A function: the temp directory is not looked up at import.
 */
export function devBlobDir(): string {
  return join(tmpdir(), 'cloud-tasks-executor', 'blobs');
}

const DEV_PLACE = { GOOGLE_CLOUD_PROJECT: DEV.GOOGLE_CLOUD_PROJECT, LOCATION: DEV.LOCATION };
const MODE_DEFAULTS: Record<Mode, Partial<Record<keyof RawEnv, string>>> = {
  serve: { AUTH: DEFAULTS.AUTH, NOTIFY_QUEUE: DEFAULTS.NOTIFY_QUEUE },
  // dev listens on loopback (AUTH=none must not face a network), keeps blobs
  // in a local folder and notifies every outcome, so the sink shows what a
  // submitter would get.
  dev: { ...DEV_PLACE, AUTH: 'none', HOST: DEV.HOST, NOTIFY_QUEUE: DEFAULTS.NOTIFY_QUEUE, NOTIFY_ON: 'all', UI: 'on' },
  emulator: { ...DEV_PLACE, AUTH: 'none', HOST: DEV.HOST },
  cli: { AUTH: 'none', NOTIFY_QUEUE: DEFAULTS.NOTIFY_QUEUE },
  // `executor pull` is production like serve (its port serves health and the operator API).
  pull: { AUTH: DEFAULTS.AUTH, NOTIFY_QUEUE: DEFAULTS.NOTIFY_QUEUE },
};

/** The CLI pointed at the emulator (CLOUD_TASKS_EMULATOR_HOST) talks to `executor dev`: its project, location and blob folder. */
const CLI_EMULATED_DEFAULTS: Partial<Record<keyof RawEnv, string>> = { ...DEV_PLACE };

/**
 * The endpoint variables as given, unchecked: for naming them in an error
 * line even when the configuration itself is what failed.
 */
export function endpointVariables(env: Record<string, string | undefined>): { serviceUrl?: string; cloudTasksEmulatorHost?: string } {
  return {
    ...(env.SERVICE_URL ? { serviceUrl: env.SERVICE_URL } : {}),
    ...(env.CLOUD_TASKS_EMULATOR_HOST ? { cloudTasksEmulatorHost: env.CLOUD_TASKS_EMULATOR_HOST } : {}),
  };
}

export function loadConfig(env: Record<string, string | undefined> = process.env, mode: Mode = 'serve'): Config {
  const data: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const k = key as keyof RawEnv;
    let v = env[key] ?? MODE_DEFAULTS[mode][k];
    const emulatedCli = mode === 'cli' && Boolean(env.CLOUD_TASKS_EMULATOR_HOST);
    if (v === undefined && emulatedCli) v = CLI_EMULATED_DEFAULTS[k];
    // dev, and the CLI talking to it, get dev's blob folder unless a store is named.
    if (v === undefined && k === 'BLOB_DIR' && !env.BUCKET && (mode === 'dev' || emulatedCli)) v = devBlobDir();
    if (v !== undefined) data[key] = v;
  }
  let raw: RawEnv;
  try {
    raw = envSchema<RawEnv>({ schema: EnvSchema, data, env: false });
  } catch (err) {
    const first = (err as { errors?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }> }).errors?.[0];
    const variable = first?.instancePath.replace(/^\//, '') || 'environment';
    const got = data[variable];
    // A union of literals fails on its first branch ("must be equal to constant"): name every choice instead.
    const choices = (EnvSchema.properties as Record<string, { anyOf?: Array<{ const?: unknown }> }>)[variable]?.anyOf?.map((branch) => branch.const);
    if (choices?.length && choices.every((c) => typeof c === 'string')) throw new ConfigError(variable, `must be one of ${choices.join(', ')}, got "${got}"`);
    const allowed = first?.params?.allowedValues ?? (first?.params as { allowedValue?: unknown })?.allowedValue;
    throw new ConfigError(
      variable,
      `${first?.message ?? 'invalid'}${allowed ? ` (${JSON.stringify(allowed)})` : ''}${got !== undefined ? `, got "${got}"` : ''}`,
    );
  }

  const service = normaliseServiceUrl(raw.SERVICE_URL);
  const serviceUrl = service?.url;
  const maxAttemptsDefault = raw.MAX_ATTEMPTS ?? DEFAULTS.MAX_ATTEMPTS;
  const chain = parseChain(raw.CHAIN ?? DEFAULTS.CHAIN, maxAttemptsDefault, serviceUrl);
  const project = raw.GOOGLE_CLOUD_PROJECT ?? '';
  const location = raw.LOCATION ?? '';
  const production = mode === 'serve' || mode === 'pull';
  if (production) {
    if (!project) throw new ConfigError('GOOGLE_CLOUD_PROJECT', `required in ${mode} mode`);
    if (!location && mode === 'serve') throw new ConfigError('LOCATION', `required in ${mode} mode`);
  }

  const auth = raw.AUTH ?? DEFAULTS.AUTH;
  const issuer = optionalUrl('OIDC_ISSUER', raw.OIDC_ISSUER);
  const certsUrl = optionalUrl('OIDC_CERTS_URL', raw.OIDC_CERTS_URL);
  if (issuer && !certsUrl) throw new ConfigError('OIDC_CERTS_URL', 'required when OIDC_ISSUER is set');
  let audiences = list(raw.OIDC_AUDIENCE);
  for (const a of audiences) optionalUrl('OIDC_AUDIENCE', a);
  if (audiences.length === 0 && serviceUrl) {
    const u = new URL(serviceUrl);
    audiences = [
      ...new Set([
        serviceUrl.replace(/\/$/, ''),
        u.origin,
        `${u.origin}/`,
        `${serviceUrl.replace(/\/$/, '')}/tasks`,
        `${serviceUrl.replace(/\/$/, '')}/pubsub`,
      ]),
    ];
  }
  const invokers = list(raw.OIDC_INVOKERS);
  if (production && auth === 'none' && !truthy(raw.ALLOW_UNAUTHENTICATED)) {
    throw new ConfigError('AUTH', 'none is refused in serve mode unless ALLOW_UNAUTHENTICATED=1');
  }
  if (production && auth === 'oidc') {
    if (audiences.length === 0) throw new ConfigError('OIDC_AUDIENCE', 'required with AUTH=oidc (or set SERVICE_URL)');
    if (invokers.length === 0) throw new ConfigError('OIDC_INVOKERS', 'required with AUTH=oidc: the service accounts allowed to call');
  }

  const notifyOn = parseNotifyOn(raw.NOTIFY_ON ?? DEFAULTS.NOTIFY_ON);
  const notifyTopic = raw.NOTIFY_TOPIC || undefined;
  if (notifyTopic && !/^projects\/[^/]+\/topics\/[^/]+$/.test(notifyTopic)) {
    throw new ConfigError('NOTIFY_TOPIC', `must look like projects/P/topics/T, got "${notifyTopic}"`);
  }
  const notifyQueue = raw.NOTIFY_QUEUE || undefined;
  if (notifyQueue && !QUEUE_ID.test(notifyQueue)) throw new ConfigError('NOTIFY_QUEUE', `"${notifyQueue}" is not a valid queue id`);

  const exitCodes = list(raw.EXEC_PERMANENT_EXIT_CODES).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 255) throw new ConfigError('EXEC_PERMANENT_EXIT_CODES', `"${s}" is not an exit code 1-255`);
    return n;
  });
  const jobTimeoutMs = parseDuration('JOB_TIMEOUT', raw.JOB_TIMEOUT ?? DEFAULTS.JOB_TIMEOUT);
  const shutdownGraceMs = parseDuration('SHUTDOWN_GRACE', raw.SHUTDOWN_GRACE ?? DEFAULTS.SHUTDOWN_GRACE);
  if (jobTimeoutMs > 30 * 60_000) throw new ConfigError('JOB_TIMEOUT', 'must be at most 30m (the longest Cloud Tasks dispatchDeadline)');

  return {
    mode,
    port: raw.PORT ?? DEFAULTS.PORT,
    host: raw.HOST ?? DEFAULTS.HOST,
    project,
    location,
    chain,
    ...(serviceUrl ? { serviceUrl } : {}),
    ...(service?.note ? { serviceUrlNote: service.note } : {}),
    notify: {
      ...(notifyQueue ? { queue: notifyQueue } : {}),
      ...(raw.NOTIFY_URL ? { url: optionalUrl('NOTIFY_URL', raw.NOTIFY_URL) } : {}),
      ...(notifyTopic ? { topic: notifyTopic } : {}),
      on: notifyOn,
    },
    ledger: {
      kind: raw.LEDGER ?? DEFAULTS.LEDGER,
      ttlMs: parseDuration('LEDGER_TTL', raw.LEDGER_TTL ?? DEFAULTS.LEDGER_TTL),
      maxBytes: raw.LEDGER_MAX_BYTES ?? DEFAULTS.LEDGER_MAX_BYTES,
      collectionPrefix: raw.FIRESTORE_COLLECTION_PREFIX ?? DEFAULTS.FIRESTORE_COLLECTION_PREFIX,
    },
    blobs: {
      ...(raw.BUCKET ? { bucket: raw.BUCKET } : {}),
      ...(raw.BLOB_DIR ? { dir: raw.BLOB_DIR } : {}),
      offloadThresholdBytes: raw.OFFLOAD_THRESHOLD ?? DEFAULTS.OFFLOAD_THRESHOLD,
      ...(raw.BLOB_REF_KEY ? { refKey: blobRefKey(raw.BLOB_REF_KEY) } : {}),
    },
    auth: { mode: auth, audiences, invokers, ...(issuer ? { issuer } : {}), ...(certsUrl ? { certsUrl } : {}) },
    ...(raw.INVOKER_SERVICE_ACCOUNT ? { invokerServiceAccount: raw.INVOKER_SERVICE_ACCOUNT } : {}),
    maxConcurrency: raw.MAX_CONCURRENCY ?? DEFAULTS.MAX_CONCURRENCY,
    pullMaxMessages: raw.PULL_MAX_MESSAGES ?? raw.MAX_CONCURRENCY ?? DEFAULTS.MAX_CONCURRENCY,
    maxCrashes: raw.MAX_CRASHES ?? DEFAULTS.MAX_CRASHES,
    leaseMarginMs: parseDuration('LEASE_MARGIN', raw.LEASE_MARGIN ?? DEFAULTS.LEASE_MARGIN),
    sweepIntervalMs: parseDuration('SWEEP_INTERVAL', raw.SWEEP_INTERVAL ?? DEFAULTS.SWEEP_INTERVAL),
    jobTimeoutMs,
    shutdownGraceMs,
    requestTimeoutMs: parseDuration('REQUEST_TIMEOUT', raw.REQUEST_TIMEOUT ?? DEFAULTS.REQUEST_TIMEOUT),
    jobs: {
      execCommands: list(raw.EXEC_COMMANDS),
      execPermanentExitCodes: exitCodes,
      ...(raw.JOBS_DIR ? { jobsDir: raw.JOBS_DIR } : {}),
      httpAllow: list(raw.HTTP_JOB_ALLOW),
      ...(raw.JOBS_MODULE ? { module: raw.JOBS_MODULE } : {}),
      execEnv: execEnvPass(raw.EXEC_ENV_PASS ?? DEFAULTS.EXEC_ENV_PASS, env),
      // The worker exits SHUTDOWN_GRACE after SIGTERM: SIGKILL (and the wait
      // for it) must come well before that, or children outlive it.
      execKillGraceMs: Math.min(5000, Math.floor(shutdownGraceMs / 2)),
    },
    ...(raw.CLOUD_TASKS_EMULATOR_HOST ? { cloudTasksEmulatorHost: hostPort('CLOUD_TASKS_EMULATOR_HOST', raw.CLOUD_TASKS_EMULATOR_HOST) } : {}),
    emulatorPort: raw.EMULATOR_PORT ?? DEFAULTS.EMULATOR_PORT,
    ...emulatorTargets(mode, raw),
    logLevel: raw.LOG_LEVEL ?? DEFAULTS.LOG_LEVEL,
    outputLimitBytes: raw.OUTPUT_LIMIT ?? DEFAULTS.OUTPUT_LIMIT,
    ui: (raw.UI ?? DEFAULTS.UI) === 'on',
  };
}

/**
 * Loader and interpreter start-up variables: never passed to exec children
 * (the same list as NEVER_PASS_ENV in jobs/exec-job.ts, which also filters).
 */
const NEVER_PASS =
  /^(LD_.*|DYLD_.*|NODE_OPTIONS|NODE_PATH|BASH_ENV|ENV|BASH_FUNC_.*|SHELLOPTS|BASHOPTS|PS4|PROMPT_COMMAND|IFS|GCONV_PATH|LOCPATH|NLSPATH|GLIBC_TUNABLES|PERL5OPT|PERL5LIB|PERLLIB|PYTHONSTARTUP|PYTHONPATH|PYTHONHOME|RUBYOPT|RUBYLIB|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS)$/;

/** EXEC_ENV_PASS: names only; a loader/interpreter variable stops start-up. */
function execEnvPass(value: string, env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of list(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ConfigError('EXEC_ENV_PASS', `"${name}" is not a variable name`);
    if (NEVER_PASS.test(name)) throw new ConfigError('EXEC_ENV_PASS', `${name} changes what a child runs at start-up and is never passed`);
    const v = env[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** BLOB_REF_KEY: at least 32 characters (an HMAC-SHA256 key). */
function blobRefKey(value: string): string {
  if (value.length < 32) throw new ConfigError('BLOB_REF_KEY', 'must be at least 32 characters (e.g. `openssl rand -hex 32`)');
  return value;
}

const QUEUE_ID = /^[A-Za-z0-9-]{1,100}$/;

/** The emulator's App Engine stand-in (dev: the worker itself) and its state file. */
function emulatorTargets(mode: Mode, raw: RawEnv): { emulatorAppEngineUrl?: string; emulatorState?: string; emulatorMaxRate?: number } {
  const appEngine =
    optionalUrl('EMULATOR_APP_ENGINE_URL', raw.EMULATOR_APP_ENGINE_URL) ?? (mode === 'dev' ? `http://127.0.0.1:${raw.PORT ?? DEFAULTS.PORT}` : undefined);
  return {
    ...(appEngine ? { emulatorAppEngineUrl: appEngine } : {}),
    ...(raw.EMULATOR_STATE ? { emulatorState: raw.EMULATOR_STATE } : {}),
    ...(raw.EMULATOR_MAX_RATE !== undefined ? { emulatorMaxRate: raw.EMULATOR_MAX_RATE } : {}),
  };
}

/**
 * CHAIN: comma-separated `queue[:maxAttempts][@url][#subscription]`;
 * maxAttempts may be `unlimited` (or -1). A tier without a URL is served by
 * SERVICE_URL/tasks. `#subscription` names the Pub/Sub subscription that
 * feeds the tier: pushed through POST /pubsub, or pulled by `executor pull`,
 * which forwards an exhausted message to the next tier's topic: the topic
 * named like that tier's queue.
 */
export function parseChain(value: string, defaultMaxAttempts: number, serviceUrl?: string): Tier[] {
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new ConfigError('CHAIN', 'must name at least one queue');
  const seen = new Set<string>();
  return parts.map((part, index) => {
    const m = /^([^:@#]+)(?::([^@#]+))?(?:@([^#]+))?(?:#(.+))?$/.exec(part);
    if (!m) throw new ConfigError('CHAIN', `cannot parse "${part}" (expected queue[:maxAttempts][@url][#subscription])`);
    const [, queue, attempts, url, subscription] = m as unknown as [string, string, string | undefined, string | undefined, string | undefined];
    if (!QUEUE_ID.test(queue)) throw new ConfigError('CHAIN', `"${queue}" is not a valid queue id`);
    if (seen.has(queue)) throw new ConfigError('CHAIN', `queue "${queue}" appears twice`);
    seen.add(queue);
    let maxAttempts: number | null = defaultMaxAttempts;
    if (attempts !== undefined) {
      if (attempts === 'unlimited' || attempts === '-1') maxAttempts = null;
      else if (/^\d+$/.test(attempts) && Number(attempts) >= 1) maxAttempts = Number(attempts);
      else throw new ConfigError('CHAIN', `maxAttempts of "${queue}" must be a positive integer or "unlimited", got "${attempts}"`);
    }
    if (maxAttempts === null && index < parts.length - 1) {
      throw new ConfigError('CHAIN', `"${queue}" has unlimited attempts, so the tiers after it could never be reached`);
    }
    let tierUrl: string | undefined;
    if (url) tierUrl = optionalUrl('CHAIN', url);
    else if (serviceUrl) tierUrl = `${serviceUrl.replace(/\/$/, '')}/tasks`;
    if (subscription !== undefined && !/^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/.test(subscription.replace(/^projects\/[^/]+\/subscriptions\//, ''))) {
      throw new ConfigError('CHAIN', `"${subscription}" is not a Pub/Sub subscription name`);
    }
    return {
      index,
      queue,
      maxAttempts,
      ...(tierUrl ? { url: tierUrl } : {}),
      ...(subscription ? { subscription: subscription.replace(/^projects\/[^/]+\/subscriptions\//, '') } : {}),
    };
  });
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `540s`, `9m`, `1500ms`, `7d`, or a bare number of seconds. */
export function parseDuration(variable: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new ConfigError(variable, `"${value}" is not a duration (e.g. 30s, 9m, 1500ms)`);
  const ms = Number(m[1]) * UNITS[m[2] ?? 's']!;
  if (ms <= 0) throw new ConfigError(variable, 'must be greater than 0');
  return Math.round(ms);
}

function parseNotifyOn(value: string): Set<EventKind> {
  const all: EventKind[] = ['succeeded', 'failed', 'forwarded', 'cancelled'];
  const items = list(value);
  if (items.includes('all')) return new Set(all);
  for (const i of items) {
    if (!all.includes(i as EventKind)) throw new ConfigError('NOTIFY_ON', `"${i}" is not one of succeeded, failed, forwarded, cancelled, all`);
  }
  const on = new Set(items as EventKind[]);
  // A cancel ends the lineage without success: whoever hears of failures hears of it.
  if (on.has('failed')) on.add('cancelled');
  return on;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function truthy(value: string | undefined): boolean {
  return value === '1' || value === 'true' || value === 'yes';
}

function optionalUrl(variable: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConfigError(variable, `"${value}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(variable, `"${value}" must be http(s)`);
  return value;
}

/**
 * SERVICE_URL is the service's base URL; pushes go to SERVICE_URL/tasks.
 * Written as the push URL itself (`https://svc/tasks`, as Cloud Run users
 * often do) it is normalised; any other path is refused, since forwards and
 * notifications to `<path>/tasks` would 404 for ever.
 */
export function normaliseServiceUrl(value: string | undefined): { url: string; note?: string } | undefined {
  const given = optionalUrl('SERVICE_URL', value);
  if (!given) return undefined;
  const u = new URL(given);
  const path = u.pathname.replace(/\/+$/, '');
  if (u.search || u.hash) throw new ConfigError('SERVICE_URL', `"${given}" must be the service's base URL, without ?query or #fragment`);
  if (path === '') return { url: `${u.origin}` };
  if (path === '/tasks') return { url: u.origin, note: `SERVICE_URL "${given}" is the push URL; using its base ${u.origin} (pushes go to ${u.origin}/tasks)` };
  throw new ConfigError(
    'SERVICE_URL',
    `"${given}" has the path "${u.pathname}": give the service's base URL (pushes go to SERVICE_URL/tasks), e.g. ${u.origin}`,
  );
}

function hostPort(variable: string, value: string): string {
  if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(value)) throw new ConfigError(variable, `"${value}" must be host:port`);
  return value;
}
