// buildApp(config, deps): the Fastify instance. It reads no env, never listens
// and installs no signal handlers (server.ts does); tests build one per test.

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';
import type { Logger } from 'pino';
import { authHook } from './auth/auth-hook.ts';
import type { OidcVerifier } from './auth/oidc-verifier.ts';
import type { Config } from './config.ts';
import { ConcurrencyLimiter } from './delivery/concurrency-limiter.ts';
import { createDelivery, type Delivery } from './delivery/deliver.ts';
import { createEffects, type Effects } from './delivery/effects.ts';
import { createJobCompletion, type JobCompletion } from './delivery/job-completion.ts';
import type { AttemptLedger, BlobStore, Clock, JobRegistry, Notifier, TaskQueue } from './interfaces.ts';
import { lazySerializerBuilder, lazyValidatorBuilder } from './lazy-schema-compilers.ts';
import { MAX_HEADER_BYTES, MAX_ID_LENGTH } from './limits.ts';
import { requestChildLogger } from './logger.ts';
import type { NotificationSink } from './notifier/memory-sink.ts';
import { startCancelWatch } from './operator/cancel-watch.ts';
import { instrumentDelivery } from './operator/instrument-delivery.ts';
import type { OutputHub } from './output/output-hub.ts';
import { clientErrorHandler } from './routes/client-error.ts';
import { healthRoutes } from './routes/health.ts';
import { jobRoutes } from './routes/jobs.ts';
import { Metrics, metricsRoute, timedLedger } from './routes/metrics.ts';
import { operatorRoutes } from './routes/operator.ts';
import { pubsubRoutes } from './routes/pubsub.ts';
import { sinkRoutes } from './routes/sink.ts';
import { taskRoutes } from './routes/tasks.ts';
import { uiRoutes } from './routes/ui.ts';
import { validationErrorHandler } from './routes/validation-error.ts';

export interface Deps {
  ledger: AttemptLedger;
  queue?: TaskQueue;
  notifier: Notifier;
  blobs?: BlobStore;
  registry: JobRegistry;
  clock: Clock;
  logger: Logger;
  /** undefined = AUTH=none. */
  verifier?: OidcVerifier;
  /** `executor dev`: the notification sink behind /v1/notifications. */
  sink?: NotificationSink;
  /** Live output of running jobs; without it GET /v1/tasks/:id/output has nothing to serve. */
  output?: OutputHub;
  /** Why this process cannot take work, if it cannot (pull mode's subscriptions): /readyz answers 503 with it. */
  unready?: () => string | undefined;
}

export interface App {
  app: FastifyInstance;
  delivery: Delivery;
  effects: Effects;
  jobs: JobCompletion;
  metrics: Metrics;
  /** Stop taking work: /readyz answers 503 and running jobs are aborted. */
  beginShutdown(): void;
}

/** dispatchDeadline on forwarded tasks: a margin above JOB_TIMEOUT, within 15 s–30 min. */
export function dispatchDeadlineFor(jobTimeoutMs: number): number {
  return Math.min(1800, Math.max(15, Math.ceil(jobTimeoutMs / 1000) + 30));
}

/** Fastify's request lines off (incoming, completed, 404, 4xx), its error lines on. */
class ErrorsOnlyLogController extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) super.requestCompleted(error, request, reply);
  }
  override routeNotFound(): void {}
  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (reply.statusCode >= 500) super.defaultErrorLog(error, request, reply);
  }
}

export function buildApp(config: Config, deps: Deps): App {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger,
    // One log line per delivery comes from delivery/; Fastify's per-request
    // lines would double it on the hot path. Its 5xx error lines (with reqId) stay.
    logController: new ErrorsOnlyLogController(),
    // The request's child logger (reqId) is made only if something logs through it.
    childLoggerFactory: requestChildLogger as unknown as FastifyServerOptions['childLoggerFactory'],
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Task ids and lineage ids are path params; keep them verbatim. Any id the
    // service stores (up to MAX_ID_LENGTH) must fit a param (default 100).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2 * MAX_ID_LENGTH },
    // Any header map Cloud Tasks accepts for a task must be accepted here (limits.ts).
    http: { maxHeaderSize: MAX_HEADER_BYTES },
    clientErrorHandler: clientErrorHandler(deps.logger),
    // Validators and serialisers compiled on a route's first use (idle RSS).
    schemaController: {
      compilersFactory: { buildValidator: lazyValidatorBuilder(), buildSerializer: lazySerializerBuilder() },
    } as unknown as FastifyServerOptions['schemaController'],
  }) as unknown as FastifyInstance;
  // Node keeps only the first 2,000 headers and drops the rest silently: a task
  // with many small headers would lose its X-CloudTasks-* headers (its name).
  // MAX_HEADER_BYTES bounds the count instead.
  app.server.maxHeadersCount = 0;
  let delivery: Delivery;
  const metrics = new Metrics({
    running: () => delivery.running,
    deadLetters: async () => (await deps.ledger.listDeadLetters()).length,
  });
  const ledger = timedLedger(deps.ledger, metrics);
  const effects = createEffects({
    ledger,
    ...(deps.queue ? { queue: deps.queue } : {}),
    notifier: deps.notifier,
    ...(deps.blobs ? { blobs: deps.blobs } : {}),
    clock: deps.clock,
    chain: config.chain,
    source: config.serviceUrl ?? `urn:executor:${config.project || 'local'}`,
    notifyOn: config.notify.on,
    ...(config.invokerServiceAccount ? { invokerServiceAccount: config.invokerServiceAccount } : {}),
    dispatchDeadlineSeconds: dispatchDeadlineFor(config.jobTimeoutMs),
    offloadThresholdBytes: config.blobs.offloadThresholdBytes,
  });
  const jobs = createJobCompletion({
    ledger,
    notifier: deps.notifier,
    clock: deps.clock,
    source: config.serviceUrl ?? `urn:executor:${config.project || 'local'}`,
  });
  delivery = instrumentDelivery(
    createDelivery({
      jobs,
      ledger,
      registry: deps.registry,
      effects,
      limiter: new ConcurrencyLimiter(config.maxConcurrency),
      ...(deps.blobs ? { blobs: deps.blobs } : {}),
      clock: deps.clock,
      chain: config.chain,
      jobTimeoutMs: config.jobTimeoutMs,
      leaseMarginMs: config.leaseMarginMs,
      maxCrashes: config.maxCrashes,
      logger: deps.logger,
      ...(config.blobs.refKey ? { blobRefKey: config.blobs.refKey } : {}),
      ...(deps.output ? { output: deps.output } : {}),
    }),
    metrics,
    config.chain,
  );
  if (deps.output) {
    const output = deps.output;
    const watch = startCancelWatch({ ledger, delivery, runningIds: () => output.runningIds(), logger: deps.logger });
    app.addHook('onClose', async () => watch.stop());
    const unsubscribe = deps.output.onJobEnd((e) => metrics.jobDuration.observe({ type: e.type, tier: String(e.tier) }, e.seconds));
    app.addHook('onClose', async () => void unsubscribe());
  }
  let shuttingDown = false;

  // An unknown route answers in the API's error shape too (the SDK reads `error.message`),
  // naming the method and path, not echoing a query string that may carry a secret.
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: 'NotFound', message: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` } }),
  );

  // Health and metrics stay open: probes carry no identity.
  app.register(healthRoutes, { ledger: deps.ledger, isShuttingDown: () => shuttingDown, ...(deps.unready ? { unready: deps.unready } : {}) });
  app.register(metricsRoute, { metrics });

  // Everything that runs work or reads state is authenticated when AUTH=oidc.
  app.register(async (secured) => {
    if (deps.verifier) secured.addHook('onRequest', authHook(deps.verifier));
    secured.setErrorHandler(validationErrorHandler);
    secured.register(taskRoutes, { delivery, project: config.project, metrics });
    secured.register(pubsubRoutes, { delivery, project: config.project, metrics, chain: config.chain });
    secured.register(operatorRoutes, {
      ledger,
      ...(deps.queue ? { queue: deps.queue } : {}),
      ...(deps.blobs ? { blobs: deps.blobs } : {}),
      ...(deps.output ? { output: deps.output } : {}),
      delivery,
      effects,
      chain: config.chain,
      clock: deps.clock,
      logger: deps.logger,
      ...(config.invokerServiceAccount ? { invokerServiceAccount: config.invokerServiceAccount } : {}),
      dispatchDeadlineSeconds: dispatchDeadlineFor(config.jobTimeoutMs),
      jobs,
    });
    secured.register(jobRoutes, {
      ledger,
      ...(deps.queue ? { queue: deps.queue } : {}),
      delivery,
      jobs,
      chain: config.chain,
      clock: deps.clock,
      logger: deps.logger,
    });
    if (deps.sink) secured.register(sinkRoutes, { sink: deps.sink, logger: deps.logger });
    if (config.ui) secured.register(uiRoutes);
  });

  return {
    app,
    delivery,
    effects,
    jobs,
    metrics,
    beginShutdown() {
      shuttingDown = true;
      delivery.shutdown();
    },
  };
}
