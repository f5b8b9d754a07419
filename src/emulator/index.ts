// Public entry of the local Cloud Tasks v2 emulator (REST, gcloud- and
// @google-cloud/tasks-compatible) with its own OIDC issuer.
import { type Logger, pino } from 'pino';
import { buildEmulatorApp } from './app.ts';
import { type EmulatorClock, realClock } from './clock.ts';
import { CloudTasksService, type ServiceSnapshot } from './cloud-tasks-service.ts';
import { Dispatcher } from './dispatcher.ts';
import { createOidcIssuer, type OidcIssuer } from './oidc-issuer.ts';
import { queuePath } from './resource-names.ts';
import { StateFile, StateFileError } from './state-file.ts';

export { type EmulatorClock, ManualClock, realClock } from './clock.ts';
export type { OidcIssuer } from './oidc-issuer.ts';
export { StateFileError } from './state-file.ts';

export interface EmulatorOptions {
  host?: string;
  /** 0 or absent = a free port chosen by the OS. */
  port?: number;
  clock?: EmulatorClock;
  logger?: Logger | false;
  /** How long a finished or deleted task's name stays taken (ALREADY_EXISTS) in a queue that sets no tombstoneTtl; default 1 h. */
  tombstoneMs?: number;
  /** Base URL that App Engine tasks are pushed to (EMULATOR_APP_ENGINE_URL); without it they are refused. */
  appEngineUrl?: string;
  /** Locations listed besides us-central1 and those that hold queues (LOCATION). */
  locations?: string[];
  /** A JSON file that keeps the state across restarts (EMULATOR_STATE); absent = memory only. */
  statePath?: string;
  /**
   * The highest rateLimits.maxDispatchesPerSecond a queue may set (EMULATOR_MAX_RATE).
   * Default 500, Cloud Tasks' own cap; raise it to load-test one queue beyond that.
   */
  maxDispatchesPerSecond?: number;
  /** Ignore what statePath holds and start empty (it is overwritten on the first change). */
  fresh?: boolean;
}

export interface RetryConfigInput {
  maxAttempts: number;
  minBackoff: string;
  maxBackoff: string;
  maxDoublings: number;
  maxRetryDuration: string;
}

export interface RunningEmulator {
  /** Base URL without a trailing slash; also the OIDC issuer. */
  url: string;
  port: number;
  issuer: OidcIssuer;
  /** Create the queue if missing; set the given retry fields either way. */
  ensureQueue(project: string, location: string, queueId: string, retryConfig?: Partial<RetryConfigInput>): Promise<void>;
  /** Resolves when no push is in flight and no dispatch is pending (tests call it after advancing a ManualClock). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_TOMBSTONE_MS = 60 * 60 * 1000;

export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const clock = opts.clock ?? realClock;
  const logger = opts.logger === false ? pino({ enabled: false }) : (opts.logger ?? pino({ name: 'cloud-tasks-emulator' }));
  const host = opts.host ?? '127.0.0.1';
  let url = '';
  const issuerUrl = () => url;
  const issuer = createOidcIssuer({ issuer: issuerUrl, clock });
  const tombstoneMs = opts.tombstoneMs ?? DEFAULT_TOMBSTONE_MS;
  let state: StateFile | undefined;
  const changed = () => state?.changed();
  const dispatcher = new Dispatcher({ clock, logger, signer: issuer, appEngineUrl: opts.appEngineUrl, onChange: changed });
  const service = new CloudTasksService({
    clock,
    dispatcher,
    tombstoneMs,
    appEngineUrl: opts.appEngineUrl,
    locations: opts.locations,
    onChange: changed,
    maxDispatchesPerSecond: opts.maxDispatchesPerSecond,
  });
  if (opts.statePath) {
    state = new StateFile(
      opts.statePath,
      () => service.snapshot(),
      (err) => logger.error({ err, path: opts.statePath }, 'cannot write the emulator state file'),
    );
    const saved = opts.fresh ? undefined : state.load();
    if (saved !== undefined) {
      try {
        service.restore(saved as ServiceSnapshot);
      } catch (err) {
        await dispatcher.close();
        throw new StateFileError(`${opts.statePath} is not an emulator state file (${(err as Error).message}); move it away or start with --fresh`);
      }
    }
  }
  const app = buildEmulatorApp({ service, issuer, issuerUrl, logger });
  try {
    await app.listen({ host, port: opts.port ?? 0 });
  } catch (err) {
    await dispatcher.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  // A wildcard bind is not a URL clients can call; loopback reaches it.
  const publicHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  url = `http://${publicHost}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    issuer,
    async ensureQueue(project, location, queueId, retryConfig = {}) {
      const name = queuePath({ project, location, queue: queueId });
      const mask = Object.keys(retryConfig).map((k) => `retryConfig.${k}`);
      if (mask.length === 0) {
        try {
          service.queue(name);
          return;
        } catch {
          // missing: fall through and create it with the defaults
        }
      }
      service.updateQueue(name, { retryConfig }, mask);
    },
    idle: () => dispatcher.idle(),
    close() {
      closing ??= (async () => {
        await dispatcher.close();
        await app.close();
        state?.flush();
      })();
      return closing;
    },
  };
}
