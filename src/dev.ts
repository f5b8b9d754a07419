// `executor dev`: the Cloud Tasks emulator, the worker and a notification sink
// in one process (DESIGN §6). The worker reaches the emulator through the
// production Cloud Tasks client (CLOUD_TASKS_EMULATOR_HOST), so dev exercises
// the same forwarding and notifying code as serve.
import type { Logger } from 'pino';
import { type Config, ConfigError, DEV, loadConfig } from './config.ts';
import { type RunningEmulator, StateFileError, startEmulator } from './emulator/index.ts';
import { createNotificationSink, type NotificationSink } from './notifier/memory-sink.ts';
import { createDeps, type RunningServer, startServer } from './server.ts';

export const DEV_SERVICE_ACCOUNT = DEV.SERVICE_ACCOUNT;

/** Short backoffs so a failing task walks the whole chain in seconds. */
export const DEV_RETRY = { minBackoff: '1s', maxBackoff: '4s', maxDoublings: 2, maxRetryDuration: '0s' };

export interface DevStack {
  config: Config;
  emulator: RunningEmulator;
  server: RunningServer;
  sink: NotificationSink;
  stop(): Promise<void>;
}

export async function startDev(
  env: Record<string, string | undefined>,
  logger: Logger,
  opts: { handleSignals?: boolean; retry?: typeof DEV_RETRY; fresh?: boolean } = {},
): Promise<DevStack> {
  const retry = opts.retry ?? DEV_RETRY;
  const base = loadConfig(env, 'dev');
  let emulator: RunningEmulator;
  try {
    emulator = await startEmulator({
      host: base.host,
      port: base.emulatorPort,
      logger: logger.child({ component: 'emulator' }),
      appEngineUrl: base.emulatorAppEngineUrl,
      locations: [base.location],
      statePath: base.emulatorState,
      maxDispatchesPerSecond: base.emulatorMaxRate,
      fresh: opts.fresh,
    });
  } catch (err) {
    if (err instanceof StateFileError) throw new ConfigError('EMULATOR_STATE', err.message);
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new ConfigError('EMULATOR_PORT', `port ${base.emulatorPort} on ${base.host} is already in use by another process`);
  }
  try {
    // What dev derives from the emulator's address, unless the environment set it.
    const serviceUrl = base.serviceUrl ?? `http://127.0.0.1:${base.port}`;
    const issuer = base.auth.issuer ?? emulator.url;
    const derived: Record<string, string> = {
      SERVICE_URL: serviceUrl,
      CLOUD_TASKS_EMULATOR_HOST: `127.0.0.1:${emulator.port}`,
      NOTIFY_URL: base.notify.url ?? `${serviceUrl}/v1/notifications`,
    };
    if (base.auth.mode === 'oidc') {
      Object.assign(derived, {
        OIDC_ISSUER: issuer,
        OIDC_CERTS_URL: base.auth.certsUrl ?? `${emulator.url}/oauth2/v1/certs`,
        OIDC_INVOKERS: base.auth.invokers.length ? base.auth.invokers.join(',') : DEV.SERVICE_ACCOUNT,
        INVOKER_SERVICE_ACCOUNT: base.invokerServiceAccount ?? DEV.SERVICE_ACCOUNT,
        // The sink receives notifier-queue pushes whose audience is its own URL.
        OIDC_AUDIENCE: [
          ...new Set([
            ...base.auth.audiences,
            serviceUrl,
            new URL(serviceUrl).origin,
            `${serviceUrl}/tasks`,
            `${serviceUrl}/pubsub`,
            `${serviceUrl}/v1/notifications`,
          ]),
        ].join(','),
      });
    }
    const config = loadConfig({ ...env, ...derived }, 'dev');
    // Queues get unlimited attempts: CHAIN's count decides when a tier ends, and
    // a push that cannot reach the worker is retried instead of deleted.
    for (const tier of config.chain) {
      await emulator.ensureQueue(config.project, config.location, tier.queue, { ...retry, maxAttempts: -1 });
    }
    if (config.notify.queue) {
      await emulator.ensureQueue(config.project, config.location, config.notify.queue, { ...retry, maxAttempts: 20 });
    }
    const sink = createNotificationSink({});
    const deps = await createDeps(config, logger, { sink });
    const server = await startServer(config, deps, { handleSignals: opts.handleSignals ?? false });
    return {
      config,
      emulator,
      server,
      sink,
      async stop() {
        await server.stop();
        await emulator.close();
      },
    };
  } catch (err) {
    await emulator.close();
    throw err;
  }
}

/** The command that runs this CLI: `npx executor` in the repository (sources), the package's own bin elsewhere. */
const CLI = import.meta.url.endsWith('.ts') ? 'npx executor' : 'npx cloud-tasks-executor';

/**
 * The environment a CLI in another terminal needs to talk to this dev stack:
 * where the emulator and the worker are, the chain (for attempt limits), the
 * blob store (large data), and with AUTH=oidc where ID tokens come from.
 */
export function devCliEnv(stack: DevStack): Array<[string, string]> {
  const { config, emulator, server } = stack;
  const vars: Array<[string, string]> = [
    ['CLOUD_TASKS_EMULATOR_HOST', `127.0.0.1:${emulator.port}`],
    ['SERVICE_URL', server.url],
    ['CHAIN', config.chain.map((t) => `${t.queue}:${t.maxAttempts ?? 'unlimited'}${t.url && t.url !== `${server.url}/tasks` ? `@${t.url}` : ''}`).join(',')],
  ];
  if (config.blobs.bucket) vars.push(['BUCKET', config.blobs.bucket]);
  else if (config.blobs.dir) vars.push(['BLOB_DIR', config.blobs.dir]);
  if (config.auth.mode === 'oidc') {
    vars.push(['AUTH', 'oidc'], ['GCE_METADATA_HOST', `127.0.0.1:${emulator.port}`]);
    if (config.invokerServiceAccount) vars.push(['INVOKER_SERVICE_ACCOUNT', config.invokerServiceAccount]);
  }
  return vars;
}

/** What `executor dev` prints: URLs and copy-paste commands. */
export function devBanner(stack: DevStack): string {
  const { config, emulator, server } = stack;
  const first = config.chain[0]!;
  const body = `{"type":"echo","data":{"hello":"world"}}`;
  const quote = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replaceAll("'", "'\\''")}'`);
  return [
    '',
    `executor dev is running`,
    `  worker       ${server.url}   (POST /tasks, GET /v1/tasks/ID, GET /v1/notifications)`,
    `  emulator     ${emulator.url}   (Cloud Tasks v2 REST, OIDC issuer)`,
    ...(config.ui
      ? [
          `  dashboard    ${server.url}/ui${config.auth.mode === 'oidc' ? '   (behind AUTH=oidc: a browser cannot send the ID token; use AUTH=none to browse it)' : ''}`,
        ]
      : []),
    `  chain        ${config.chain.map((t) => `${t.queue}:${t.maxAttempts ?? 'unlimited'}`).join(' -> ')}   notifications -> ${config.notify.queue ?? 'log'} -> sink`,
    `  auth         ${config.auth.mode}`,
    `  blobs        ${config.blobs.bucket ? `gs://${config.blobs.bucket}` : (config.blobs.dir ?? 'none (data over OFFLOAD_THRESHOLD is refused)')}`,
    '',
    'Enqueue with gcloud (a private gcloud config, so yours is untouched):',
    `  export CLOUDSDK_CONFIG=$HOME/.config/executor-dev-gcloud`,
    `  gcloud config set api_endpoint_overrides/cloudtasks ${emulator.url}/`,
    `  gcloud config set auth/disable_credentials true`,
    `  gcloud config set project ${config.project}`,
    `  gcloud tasks create-http-task --queue=${first.queue} --location=${config.location} \\`,
    `    --url=${server.url}/tasks --body-content='${body}'${config.auth.mode === 'oidc' ? ` \\\n    --oidc-service-account-email=${config.invokerServiceAccount ?? DEV.SERVICE_ACCOUNT}` : ''}`,
    '',
    'Or with the CLI, in another terminal:',
    `  export ${devCliEnv(stack)
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join(' ')}`,
    `  ${CLI} enqueue --type echo --data '{"hello":"world"}' --watch`,
    '',
    // Under AUTH=oidc a bare curl gets 401: the CLI, with the line above, carries an ID token.
    config.auth.mode === 'oidc'
      ? `Notifications: ${CLI} tail   (with the export line above; /v1 needs an ID token under AUTH=oidc)`
      : `Notifications: curl ${server.url}/v1/notifications`,
    '',
  ].join('\n');
}
