import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger, traceField } from '../src/logger.ts';

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
