// The emulator as a Fastify app: Cloud Tasks v2 REST plus the OIDC issuer
// routes, so the emulator's base URL is also the issuer of its push tokens.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { CloudTasksService } from './cloud-tasks-service.ts';
import { type OidcIssuer, oidcIssuerRoutes } from './oidc-issuer.ts';
import { googleErrorHandler, restRoutes } from './rest-routes.ts';

export interface EmulatorAppDeps {
  service: CloudTasksService;
  issuer: OidcIssuer;
  issuerUrl: () => string;
  logger: Logger;
}

/** A create body with a 1 MiB task is ~1.4 MB of base64; accept more so the size check answers, not the parser. */
const BODY_LIMIT = 16 * 1024 * 1024;

export function buildEmulatorApp(deps: EmulatorAppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
  });
  // Clients send bodies with and without Content-Type, and empty ones with
  // "application/json" (DELETE, GET): read any body as JSON when there is one.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (text === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      (err as { statusCode?: number }).statusCode = 400;
      done(err as Error, undefined);
    }
  });
  googleErrorHandler(app);
  restRoutes(app, deps.service);
  oidcIssuerRoutes(app, { issuer: deps.issuer, issuerUrl: deps.issuerUrl });
  return app;
}
