// `executor dev`: the Cloud Tasks emulator, the worker and a notification sink
// in one process (DESIGN §6). The worker reaches the emulator through the
// production Cloud Tasks client (CLOUD_TASKS_EMULATOR_HOST), so dev exercises
// the same forwarding and notifying code as serve.
import type { Logger } from 'pino';
import { loadConfig, type Config } from './config.ts';
import { startEmulator, type RunningEmulator } from './emulator/index.ts';
import { createDeps, startServer, type RunningServer } from './server.ts';
import { createNotificationSink, type NotificationSink } from './notifier/memory-sink.ts';

export const DEV_SERVICE_ACCOUNT = 'executor-dev@local-project.iam.gserviceaccount.com';

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
  opts: { handleSignals?: boolean; retry?: typeof DEV_RETRY } = {},
): Promise<DevStack> {
  const retry = opts.retry ?? DEV_RETRY;
  const base = loadConfig(env, 'dev');
  const emulator = await startEmulator({ host: base.host, port: base.emulatorPort, logger: logger.child({ component: 'emulator' }) });
  try {
    const local = (port: number) => `http://127.0.0.1:${port}`;
    const serviceUrl = env.SERVICE_URL ?? local(base.port);
    const oidc = (env.AUTH ?? 'none') === 'oidc';
    const config = loadConfig(
      {
        ...env,
        SERVICE_URL: serviceUrl,
        CLOUD_TASKS_EMULATOR_HOST: `127.0.0.1:${emulator.port}`,
        NOTIFY_URL: env.NOTIFY_URL ?? `${serviceUrl}/v1/notifications`,
        ...(oidc
          ? {
              OIDC_ISSUER: env.OIDC_ISSUER ?? emulator.url,
              OIDC_CERTS_URL: env.OIDC_CERTS_URL ?? `${emulator.url}/oauth2/v1/certs`,
              OIDC_INVOKERS: env.OIDC_INVOKERS ?? DEV_SERVICE_ACCOUNT,
              // The sink receives notifier-queue pushes whose audience is its own URL.
              OIDC_AUDIENCE:
                env.OIDC_AUDIENCE ?? [serviceUrl, new URL(serviceUrl).origin, `${serviceUrl}/tasks`, `${serviceUrl}/pubsub`, `${serviceUrl}/v1/notifications`].join(','),
              INVOKER_SERVICE_ACCOUNT: env.INVOKER_SERVICE_ACCOUNT ?? DEV_SERVICE_ACCOUNT,
            }
          : {}),
      },
      'dev',
    );
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

/** What `executor dev` prints: URLs and copy-paste commands. */
export function devBanner(stack: DevStack): string {
  const { config, emulator, server } = stack;
  const first = config.chain[0]!;
  const body = `{"type":"echo","data":{"hello":"world"}}`;
  return [
    '',
    `executor dev is running`,
    `  worker       ${server.url}   (POST /tasks, GET /v1/tasks/ID, GET /v1/notifications)`,
    `  emulator     ${emulator.url}   (Cloud Tasks v2 REST, OIDC issuer)`,
    ...(config.ui ? [`  dashboard    ${server.url}/ui`] : []),
    `  chain        ${config.chain.map((t) => `${t.queue}:${t.maxAttempts ?? 'unlimited'}`).join(' -> ')}   notifications -> ${config.notify.queue ?? 'log'} -> sink`,
    `  auth         ${config.auth.mode}`,
    '',
    'Enqueue with gcloud (a private gcloud config, so yours is untouched):',
    `  export CLOUDSDK_CONFIG=$HOME/.config/executor-dev-gcloud`,
    `  gcloud config set api_endpoint_overrides/cloudtasks ${emulator.url}/`,
    `  gcloud config set auth/disable_credentials true`,
    `  gcloud config set project ${config.project}`,
    `  gcloud tasks create-http-task --queue=${first.queue} --location=${config.location} \\`,
    `    --url=${server.url}/tasks --body-content='${body}'${config.auth.mode === 'oidc' ? ` \\\n    --oidc-service-account-email=${DEV_SERVICE_ACCOUNT}` : ''}`,
    '',
    'Or with the CLI (same environment as this process):',
    `  CLOUD_TASKS_EMULATOR_HOST=127.0.0.1:${emulator.port} SERVICE_URL=${server.url} npx executor enqueue --type echo --data '{"hello":"world"}' --watch`,
    '',
    `Notifications: curl ${server.url}/v1/notifications`,
    '',
  ].join('\n');
}
