// GET /ui: the dashboard, three static files shipped in the package (src/ui/),
// read once at start-up. Registered inside the authenticated scope, so it has
// the operator API's auth; in production put it behind IAP (README).
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';

const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
} as const;

export async function uiRoutes(app: FastifyInstance) {
  const dir = new URL('../ui/', import.meta.url);
  const files = new Map<string, Buffer>();
  for (const name of Object.keys(FILES)) files.set(name, await readFile(new URL(name, dir)));
  const send = (name: keyof typeof FILES) => async (_req: unknown, reply: FastifyReply) =>
    reply
      .type(FILES[name])
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
      .send(files.get(name));
  app.get('/ui', send('index.html'));
  app.get('/ui/app.js', send('app.js'));
  app.get('/ui/style.css', send('style.css'));
  app.get('/', async (_req, reply) => reply.redirect('/ui'));
}
