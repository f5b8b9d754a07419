// Start pull mode: the same app as serve (health, operator API) on PORT, plus
// the pull worker. Forwarding publishes to the next tier's topic; shutdown
// drains (stop pulling, let running jobs finish within SHUTDOWN_GRACE, nack
// the rest), then closes the app and every backend.
import { PubSub } from '@google-cloud/pubsub';
import { type App, buildApp } from '../app.ts';
import { emulatorClientOptions } from '../auth/google-credentials.ts';
import type { Config } from '../config.ts';
import { ConfigError } from '../config.ts';
import { installCrashHandlers } from '../delivery/crash-isolation.ts';
import type { CreatedDeps } from '../server.ts';
import { createPullWorker, type PullWorker } from './pull-worker.ts';
import { createTopicQueue, topicTarget } from './topic-queue.ts';

export interface RunningPull {
  url: string;
  port: number;
  app: App;
  worker: PullWorker;
  /** Graceful stop (what SIGTERM does). */
  stop(): Promise<void>;
}

export async function startPull(
  config: Config,
  deps: CreatedDeps,
  opts: { handleSignals?: boolean; port?: number; host?: string; pubsub?: PubSub } = {},
): Promise<RunningPull> {
  const missing = config.chain.filter((t) => !t.subscription);
  if (missing.length > 0) {
    throw new ConfigError('CHAIN', `pull mode needs a subscription on every tier (queue#subscription); "${missing[0]!.queue}" has none`);
  }
  const pubsub = opts.pubsub ?? new PubSub({ ...(config.project ? { projectId: config.project } : {}), ...emulatorClientOptions('PUBSUB_EMULATOR_HOST') });
  const topics = createTopicQueue(pubsub);
  // A pull tier's "push target" is its topic: forwarding publishes there.
  const chain = config.chain.map((t) => ({ ...t, url: topicTarget(t.queue) }));
  // /readyz reports the subscriptions' health: a worker that cannot pull must not look ready.
  let worker: ReturnType<typeof createPullWorker> | undefined;
  const built = buildApp({ ...config, chain }, { ...deps, queue: topics, unready: () => worker?.unready() });
  worker = createPullWorker({
    pubsub,
    delivery: built.delivery,
    chain,
    maxConcurrency: config.maxConcurrency,
    maxMessages: config.pullMaxMessages,
    jobTimeoutMs: config.jobTimeoutMs,
    logger: deps.logger.child({ component: 'pull' }),
  });
  const host = opts.host ?? config.host;
  await built.app.listen({ port: opts.port ?? config.port, host });
  const addr = built.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  worker.start();

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      deps.logger.info({ ...worker.stats(), graceMs: config.shutdownGraceMs }, 'pull: shutting down');
      await worker.stop(config.shutdownGraceMs);
      built.beginShutdown();
      await built.app.close();
      await topics.close();
      if (!opts.pubsub) await pubsub.close();
      await deps.close();
      deps.logger.info('stopped');
    })());

  if (opts.handleSignals) {
    // As in serve (CLI only): an error escaping a job fails only its delivery
    // (the message is nacked and redelivered); the process keeps pulling.
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
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host;
  return { url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`, port, app: built, worker, stop };
}
