// The Fastify hook in front of every authenticated route (pushes and operator
// calls): no valid token -> 401, a valid caller not allowed -> 403, both with
// `{error: {code, message}}`; otherwise `request.invoker` holds the caller's email.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OidcVerifier } from './oidc-verifier.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Email of the verified caller; undefined with AUTH=none. */
    invoker?: string;
  }
}

const CODES = { 401: 'Unauthenticated', 403: 'PermissionDenied', 503: 'AuthUnavailable' } as const;

/**
 * An onRequest (or preHandler) hook. With no verifier (AUTH=none) it lets
 * every request through. The token is never logged; the refusal reason is.
 */
export function authHook(verifier: OidcVerifier | undefined): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (req, reply) => {
    if (!verifier) return;
    const result = await verifier.verify(req.headers.authorization);
    if (result.ok) {
      req.invoker = result.email;
      return;
    }
    req.log.warn({ status: result.status, reason: result.reason }, 'request refused by authentication');
    if (result.status === 401) reply.header('www-authenticate', 'Bearer');
    if (result.status === 503) reply.header('retry-after', '5');
    await reply.code(result.status).send({ error: { code: CODES[result.status], message: result.reason } });
  };
}
