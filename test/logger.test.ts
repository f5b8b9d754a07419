import { Writable } from 'node:stream';
import t from 'tap';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createRegistry } from '../src/jobs/registry.ts';
import { createMemoryLedger } from '../src/ledger/memory-ledger.ts';
import { createLogger, lazyChild, requestChildLogger, traceField } from '../src/logger.ts';
import { RecordingNotifier } from './helpers/doubles.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, destination };
}

t.test('logs carry Cloud Logging severity and message fields', async (t) => {
  const { lines, destination } = capture();
  const log = createLogger({ destination });
  log.warn({ queue: 'incoming' }, 'careful');
  log.error('bad');
  t.equal(lines[0]!.severity, 'WARNING');
  t.equal(lines[0]!.message, 'careful');
  t.equal(lines[0]!.queue, 'incoming');
  t.equal(lines[1]!.severity, 'ERROR');
  t.notOk('level' in lines[0]!);
});

t.test('authorization headers, tokens and payloads are redacted', async (t) => {
  const { lines, destination } = capture();
  const log = createLogger({ destination });
  log.info({ headers: { authorization: 'Bearer secret-token' }, token: 'secret-token', data: { card: '4111' } }, 'x');
  const text = JSON.stringify(lines[0]);
  t.notMatch(text, /secret-token/);
  t.notMatch(text, /4111/);
});

t.test('the trace field comes from X-Cloud-Trace-Context or traceparent', async (t) => {
  t.same(traceField('p', { 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1' }), {
    'logging.googleapis.com/trace': 'projects/p/traces/105445aa7843bc8bf206b12000100000',
  });
  t.same(traceField('p', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }), {
    'logging.googleapis.com/trace': 'projects/p/traces/4bf92f3577b34da6a3ce929d0e0e4736',
  });
  t.same(traceField('p', { traceparent: 'garbage' }), {});
  t.same(traceField('p', {}), {});
});

t.test('an err that is not an Error still logs what went wrong, never {"type":"Object","stack":""}', async (t) => {
  const { lines, destination } = capture();
  const log = createLogger({ destination });
  log.error({ err: { code: 'Unreachable' } }, 'a plain object without a message');
  log.error({ err: 'a string' }, 'a string');
  log.error({ err: Object.assign(new Error(''), { code: 14 }) }, 'an Error without a message');
  log.error({ err: new Error('outer', { cause: new Error('inner') }) }, 'with a cause');
  const errs = lines.map((l) => l.err as Record<string, unknown>);
  t.equal(errs[0]!.message, '{"code":"Unreachable"}');
  t.equal(errs[0]!.code, 'Unreachable');
  t.notOk('stack' in errs[0]!, 'no empty stack');
  t.equal(errs[1]!.message, 'a string');
  t.equal(errs[2]!.message, '14', 'the code stands in for an empty message');
  t.equal(errs[2]!.code, 14);
  t.equal((errs[3]!.cause as Record<string, unknown>).message, 'inner');
  for (const e of errs) t.ok(typeof e.message === 'string' && e.message.length > 0);
});

t.test('pretty: human-readable lines (pino-pretty) instead of JSON, for a terminal', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const script = `import { createLogger } from ${JSON.stringify(new URL('../src/logger.ts', import.meta.url).href)};
createLogger({ pretty: true }).warn({ queue: 'incoming', err: { code: 'X' } }, 'careful');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' } });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /WARN.*careful/);
  t.match(r.stdout, /queue/);
  t.throws(() => JSON.parse(r.stdout.split('\n')[0]!), 'not JSON');
  t.match(r.stdout, /"code": "X"/);
});

t.test('a lazy child writes its bindings (and those bound later), redacted, and is made only for an enabled line', async (t) => {
  const { lines, destination } = capture();
  const parent = createLogger({ destination, level: 'info' });
  let children = 0;
  const counting = new Proxy(parent, {
    get: (target, prop) =>
      prop === 'child'
        ? (b: Record<string, unknown>) => {
            children++;
            return target.child(b);
          }
        : Reflect.get(target, prop, target),
  });
  const log = lazyChild(counting, { lineage: 'L1', token: 'secret-token' });
  log.debug({ n: 1 }, 'not written');
  t.equal(log.isLevelEnabled('debug'), false);
  log.bind({ attempt: 2 });
  t.equal(children, 0, 'no child for a disabled level, nor for isLevelEnabled or bind');
  log.info({ n: 2 }, 'written');
  log.warn('again');
  t.equal(children, 1, 'one child for every line after');
  t.equal(lines.length, 2);
  t.match(lines[0], { lineage: 'L1', attempt: 2, n: 2, message: 'written' });
  t.match(lines[1], { lineage: 'L1', attempt: 2, message: 'again', severity: 'WARNING' });
  t.notMatch(JSON.stringify(lines), /secret-token/);
  log.bind({ step: 'later' });
  log.info('bound after the child was made');
  t.match(lines[2], { lineage: 'L1', attempt: 2, step: 'later' });
});

t.test("Fastify's request logger is made only when a line is written; a 5xx error line carries reqId", async (t) => {
  const { lines, destination } = capture();
  const parent = createLogger({ destination, level: 'info' });
  let children = 0;
  const counting = new Proxy(parent, {
    get: (target, prop) =>
      prop === 'child'
        ? (b: Record<string, unknown>, o?: Record<string, never>) => {
            children++;
            return target.child(b, o);
          }
        : Reflect.get(target, prop, target),
  });
  const config = loadConfig({ CHAIN: 'incoming', GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'l' }, 'dev');
  const built = buildApp(config, {
    ledger: createMemoryLedger(),
    notifier: new RecordingNotifier(),
    registry: createRegistry([]),
    clock: { now: () => Date.now() },
    logger: counting,
  });
  t.teardown(() => built.app.close());
  built.app.get('/boom', async () => {
    throw new Error('kaboom');
  });
  const ok = await built.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(ok.statusCode, 200);
  const res = await built.app.inject({ method: 'GET', url: '/boom' });
  t.equal(res.statusCode, 500);
  const line = lines.find((l) => l.message === 'kaboom' || (l.err as { message?: string } | undefined)?.message === 'kaboom');
  t.ok(line, 'the error is logged');
  t.match(line, { severity: 'ERROR', reqId: /^req-/ });
  const before = children;
  const direct = requestChildLogger(counting, { reqId: 'r1' }, {});
  t.equal(direct.isLevelEnabled('debug'), false);
  direct.debug('not written');
  t.equal(children, before, 'no child until a line is written at an enabled level');
  direct.warn({ n: 1 }, 'written');
  t.equal(children, before + 1);
  t.match(lines.at(-1), { reqId: 'r1', n: 1, message: 'written', severity: 'WARNING' });
  const notFound = await built.app.inject({ method: 'GET', url: '/nowhere' });
  t.equal(notFound.statusCode, 404);
  t.notOk(
    lines.some((l) => /incoming request|request completed|Route GET/.test(String(l.message))),
    'no per-request lines',
  );
});
