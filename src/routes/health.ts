// GET /healthz: the process answers. GET /readyz: backends reachable and not
// shutting down (Cloud Run / GKE stop routing before SIGTERM completes).
import type { FastifyInstance } from 'fastify';
import type { AttemptLedger } from '../interfaces.ts';

export async function healthRoutes(
  app: FastifyInstance,
  opts: {
    ledger: AttemptLedger;
    isShuttingDown: () => boolean /** Why the process cannot take work (pull mode's subscriptions), if it cannot. */;
    unready?: () => string | undefined;
  },
) {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (opts.isShuttingDown()) return reply.code(503).send({ status: 'shutting down' });
    const unready = opts.unready?.();
    if (unready) return reply.code(503).send({ status: 'not ready', error: unready });
    try {
      await opts.ledger.ping();
      return { status: 'ready' };
    } catch (err) {
      return reply.code(503).send({ status: 'ledger unreachable', error: (err as Error).message });
    }
  });
}
