// createDeps(config) chooses every backend in exactly one place; startServer
// listens and owns shutdown: stop accepting, abort running jobs (they answer
// 503 so Cloud Tasks retries), wait up to SHUTDOWN_GRACE, close backends in
// reverse order of creation.
import type { Logger } from 'pino';
import { type App, buildApp, type Deps } from './app.ts';
import { createCredentialsProbe } from './auth/google-credentials.ts';
import type { Config } from './config.ts';
import { ConfigError } from './config.ts';
// The backends over Google clients (Firestore, Cloud Tasks, Pub/Sub, Storage,
// google-auth-library) are imported below only when the config uses them:
// loading them all costs about a second and a lot of memory.
import { installCrashHandlers } from './delivery/crash-isolation.ts';
import { startOutboxSweep } from './delivery/outbox-sweep.ts';
import type { BlobStore, Notifier, TaskQueue } from './interfaces.ts';
import { systemClock } from './interfaces.ts';
import { builtinJobs, createRegistry, loadJobsModule } from './jobs/index.ts';
import { lazyNotifier, lazyTaskQueue } from './lazy-backends.ts';
import { createMemoryLedger } from './ledger/memory-ledger.ts';
import { createLogNotifier } from './notifier/log-notifier.ts';
import type { NotificationSink } from './notifier/memory-sink.ts';
import { createRoutingNotifier } from './notifier/routing-notifier.ts';
import { blobRefOf } from './output/blob-ref.ts';
import { blobChunkStore, memoryChunkStore } from './output/chunk-store.ts';
import { createOutputHub } from './output/output-hub.ts';

export interface CreatedDeps extends Deps {
  /** Close every backend, in reverse order of creation. */
  close(): Promise<void>;
}

export async function createDeps(config: Config, logger: Logger, extra: { sink?: NotificationSink } = {}): Promise<CreatedDeps> {
  const closers: Array<{ name: string; close: () => Promise<void> }> = [];
  const own = <T extends { close(): Promise<void> }>(name: string, thing: T): T => {
    closers.push({ name, close: () => thing.close() });
    return thing;
  };
  // Without an emulator, Google clients need credentials: ask first, so a
  // missing one is one log line and a clear error, never an unhandled rejection.
  if (config.serviceUrlNote) logger.warn({ serviceUrl: config.serviceUrl }, config.serviceUrlNote);
  const probe = (backend: string, emulatorVariable: string) =>
    createCredentialsProbe({ backend, emulatorVariable, onMissing: (message) => logger.error({ backend }, message) });
  try {
    const ledger = own(
      'ledger',
      config.ledger.kind === 'firestore'
        ? (await import('./ledger/firestore-ledger.ts')).createFirestoreLedger({
            ...(config.project ? { projectId: config.project } : {}),
            collectionPrefix: config.ledger.collectionPrefix,
            ttlMs: config.ledger.ttlMs,
            credentials: probe('firestore ledger', 'FIRESTORE_EMULATOR_HOST'),
          })
        : createMemoryLedger({ ttlMs: config.ledger.ttlMs, maxBytes: config.ledger.maxBytes, logger }),
    );

    let queue: TaskQueue | undefined;
    if (config.project && config.location) {
      const { project, location } = config;
      // Made on first use (a forward, cancel, replay): a single tier that never forwards never loads the client.
      queue = own(
        'cloud-tasks',
        lazyTaskQueue(async () =>
          (await import('./queues/cloud-tasks-queue.ts')).createCloudTasksQueue({
            project,
            location,
            ...(config.cloudTasksEmulatorHost ? { emulatorHost: config.cloudTasksEmulatorHost } : {}),
            logger,
          }),
        ),
      );
    }

    let blobs: BlobStore | undefined;
    if (config.blobs.bucket) blobs = own('blobs', (await import('./blobs/gcs-blob-store.ts')).createGcsBlobStore({ bucket: config.blobs.bucket }));
    else if (config.blobs.dir) blobs = own('blobs', (await import('./blobs/local-blob-store.ts')).createLocalBlobStore({ dir: config.blobs.dir }));

    const notifiers: { queue?: Notifier; pubsub?: Notifier } = {};
    if (config.notify.queue && queue) {
      const { createCloudTasksNotifier } = await import('./notifier/cloud-tasks-notifier.ts');
      notifiers.queue = own(
        'notify-queue',
        createCloudTasksNotifier({
          queue,
          queueName: config.notify.queue,
          ...(config.notify.url ? { defaultUrl: config.notify.url } : {}),
          ...(config.invokerServiceAccount ? { serviceAccountEmail: config.invokerServiceAccount } : {}),
        }),
      );
    }
    // Pub/Sub is also needed for an envelope's own notify.topic; its client
    // is imported when the first event goes to a topic.
    if (config.notify.topic || config.mode === 'serve' || config.mode === 'pull') {
      notifiers.pubsub = own(
        'notify-pubsub',
        lazyNotifier(async () =>
          (await import('./notifier/pubsub-notifier.ts')).createPubSubNotifier({
            ...(config.project ? { projectId: config.project } : {}),
            defaultTopic: config.notify.topic,
            credentials: probe('pubsub notifier', 'PUBSUB_EMULATOR_HOST'),
          }),
        ),
      );
    }
    const notifier = createRoutingNotifier({
      ...notifiers,
      ...(config.notify.url ? { defaultUrl: config.notify.url } : {}),
      ...(config.notify.topic ? { defaultTopic: config.notify.topic } : {}),
      log: createLogNotifier(logger),
    });

    const output = createOutputHub({
      store: blobs ? blobChunkStore(blobs, blobRefOf(config)) : memoryChunkStore(),
      ledger,
      clock: systemClock,
      logger,
      limitBytes: config.outputLimitBytes,
    });
    const factories = builtinJobs({
      onExecOutput: (o) => output.write(o.id, o.stream, o.chunk),
      httpAllow: config.jobs.httpAllow,
      execCommands: config.jobs.execCommands,
      ...(config.jobs.jobsDir ? { jobsDir: config.jobs.jobsDir } : {}),
      execPermanentExitCodes: config.jobs.execPermanentExitCodes,
      execEnv: config.jobs.execEnv,
      execKillGraceMs: config.jobs.execKillGraceMs,
    });
    if (config.jobs.module) factories.push(...(await loadJobsModule(config.jobs.module)));
    const registry = createRegistry(factories);

    const verifier =
      config.auth.mode === 'oidc'
        ? (await import('./auth/oidc-verifier.ts')).createOidcVerifier({
            audiences: config.auth.audiences,
            invokers: config.auth.invokers,
            ...(config.auth.issuer ? { issuers: [config.auth.issuer] } : {}),
            ...(config.auth.certsUrl ? { certsUrl: config.auth.certsUrl } : {}),
          })
        : undefined;

    return {
      ledger,
      ...(queue ? { queue } : {}),
      notifier,
      ...(blobs ? { blobs } : {}),
      registry,
      clock: systemClock,
      logger,
      ...(verifier ? { verifier } : {}),
      ...(extra.sink ? { sink: extra.sink } : {}),
      output,
      close: () => closeAll(closers, logger),
    };
  } catch (err) {
    await closeAll(closers, logger);
    throw err;
  }
}

async function closeAll(closers: Array<{ name: string; close: () => Promise<void> }>, logger: Logger) {
  for (const c of closers.reverse()) {
    try {
      await c.close();
    } catch (err) {
      logger.warn({ err: { message: (err as Error).message }, backend: c.name }, 'backend did not close cleanly');
    }
  }
  closers.length = 0;
}

export interface RunningServer {
  url: string;
  port: number;
  app: App;
  /** Graceful stop (what SIGTERM does). */
  stop(): Promise<void>;
}

/**
 * Listen and wire shutdown. Signal handlers are installed only when
 * `handleSignals` is true (the CLI), never in tests.
 */
export async function startServer(
  config: Config,
  deps: CreatedDeps,
  opts: { handleSignals?: boolean; port?: number; host?: string } = {},
): Promise<RunningServer> {
  const built = buildApp(config, deps);
  const { app } = built;
  try {
    await app.listen({ port: opts.port ?? config.port, host: opts.host ?? config.host });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    await deps.close();
    throw new ConfigError('PORT', `port ${opts.port ?? config.port} on ${opts.host ?? config.host} is already in use by another process`);
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = (opts.host ?? config.host) === '0.0.0.0' ? '127.0.0.1' : (opts.host ?? config.host);
  let stopping: Promise<void> | undefined;
  const sweep = startOutboxSweep({ ledger: deps.ledger, effects: built.effects, clock: deps.clock, logger: deps.logger, intervalMs: config.sweepIntervalMs });

  const stop = () =>
    (stopping ??= (async () => {
      sweep.stop();
      deps.logger.info({ running: built.delivery.running, graceMs: config.shutdownGraceMs }, 'shutting down');
      built.beginShutdown();
      // Aborted jobs answer 503 right away; give their replies the grace time to flush.
      const closed = app.close();
      const timeout = new Promise<void>((r) => setTimeout(r, config.shutdownGraceMs).unref());
      await Promise.race([closed, timeout]);
      await deps.close();
      deps.logger.info('stopped');
    })());

  if (opts.handleSignals) {
    // The last resort (CLI only, never in tests): an error escaping a job or
    // a backend is logged, fails only the job that caused it, and the process
    // keeps serving every other delivery.
    installCrashHandlers(deps.logger);
    const onSignal = (sig: NodeJS.Signals) => {
      deps.logger.info({ signal: sig }, 'signal received');
      void stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, app: built, stop };
}
