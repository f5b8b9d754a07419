import Fastify, { type FastifyServerOptions } from 'fastify';
import t from 'tap';
import { lazySerializerBuilder, lazyValidatorBuilder } from '../src/lazy-schema-compilers.ts';

const lazy = {
  compilersFactory: { buildValidator: lazyValidatorBuilder(), buildSerializer: lazySerializerBuilder() },
} as unknown as FastifyServerOptions['schemaController'];

/** The same routes on Fastify's default compilers and on the lazy ones. */
function app(schemaController?: FastifyServerOptions['schemaController']) {
  const a = Fastify(schemaController ? { schemaController } : {});
  a.post(
    '/things/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', pattern: '^[a-z]{1,5}$' } }, required: ['id'] },
        querystring: { type: 'object', properties: { n: { type: 'integer', minimum: 1 }, tags: { type: 'array', items: { type: 'string' } } } },
        body: {
          type: 'object',
          properties: { name: { type: 'string' }, size: { type: 'number', default: 3 } },
          required: ['name'],
          additionalProperties: false,
        },
        response: { 200: { type: 'object', properties: { id: { type: 'string' }, n: { type: 'integer' }, tags: {}, body: {} } } },
      },
    },
    async (req) => ({ id: (req.params as { id: string }).id, ...(req.query as object), body: req.body, secret: 'dropped by the serialiser' }),
  );
  return a;
}

t.test('lazily compiled validators and serialisers answer exactly as Fastify’s defaults', async (t) => {
  const eager = app();
  const lazyApp = app(lazy);
  t.teardown(() => Promise.all([eager.close(), lazyApp.close()]));
  const cases = [
    { url: '/things/abc?n=2&tags=x', payload: { name: 'a' } }, // coercion, a default filled in, an extra field dropped on the way out
    { url: '/things/abc?n=2&tags=x&tags=y', payload: { name: 'a', size: 9 } },
    { url: '/things/ABC', payload: { name: 'a' } }, // bad param
    { url: '/things/abc?n=0', payload: { name: 'a' } }, // bad querystring
    { url: '/things/abc?n=x', payload: { name: 'a' } },
    { url: '/things/abc', payload: { size: 1 } }, // bad body
    { url: '/things/abc', payload: { name: 'a', extra: 1 } },
    { url: '/things/abc', payload: { name: 'a' } },
  ];
  for (const c of cases) {
    const [a, b] = await Promise.all([eager.inject({ method: 'POST', ...c }), lazyApp.inject({ method: 'POST', ...c })]);
    t.equal(b.statusCode, a.statusCode, `${c.url} ${JSON.stringify(c.payload)}: status`);
    t.equal(b.body, a.body, `${c.url} ${JSON.stringify(c.payload)}: body`);
  }
});
