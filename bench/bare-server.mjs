// The baseline of `npm run bench`: a bare Fastify route that reads the body as
// Cloud Tasks sends it (raw bytes, any or no Content-Type) and JSON-parses it.
// Plain JavaScript, so its memory is not inflated by type stripping.
import Fastify from 'fastify';

const app = Fastify();
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/tasks', async (req) => ({ ok: typeof JSON.parse(String(req.body)).type === 'string' }));
app.get('/healthz', async () => ({ ok: true }));
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
