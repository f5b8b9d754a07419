// Public entry of the local Cloud Tasks v2 emulator (REST, gcloud- and
// @google-cloud/tasks-compatible) with its own OIDC issuer.
import { pino, type Logger } from 'pino';
import { buildEmulatorApp } from './app.ts';
import { realClock, type EmulatorClock } from './clock.ts';
import { CloudTasksService } from './cloud-tasks-service.ts';
import { Dispatcher } from './dispatcher.ts';
import { createOidcIssuer, type OidcIssuer } from './oidc-issuer.ts';
import { queuePath } from './resource-names.ts';

export { ManualClock, realClock, type EmulatorClock } from './clock.ts';
export type { OidcIssuer } from './oidc-issuer.ts';

export interface EmulatorOptions {
  host?: string;
  /** 0 or absent = a free port chosen by the OS. */
  port?: number;
  clock?: EmulatorClock;
  logger?: Logger | false;
  /** How long a finished or deleted task's name stays taken (ALREADY_EXISTS); default 1 h. */
  tombstoneMs?: number;
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
  const dispatcher = new Dispatcher({ clock, logger, tombstoneMs, signer: issuer });
  const service = new CloudTasksService({ clock, dispatcher, tombstoneMs });
  const app = buildEmulatorApp({ service, issuer, issuerUrl, logger });
  await app.listen({ host, port: opts.port ?? 0 });
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
      })();
      return closing;
    },
  };
}
