// Over a real HTTP server (inject skips Node's header parser): any header map
// Cloud Tasks accepts, any Content-Type and Content-Encoding, Pub/Sub messages up to 10 MB, and bodies over the
// limit recorded by hash and acknowledged.

import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import pino from 'pino';
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { systemClock } from '../../src/interfaces.ts';
import { builtinJobs } from '../../src/jobs/index.ts';
import { createRegistry } from '../../src/jobs/registry.ts';
import { createMemoryLedger } from '../../src/ledger/memory-ledger.ts';
import { CLOUD_TASKS_HEADER_BYTES, MAX_HEADER_BYTES, TASK_BODY_LIMIT } from '../../src/limits.ts';
import { RecordingNotifier } from '../helpers/doubles.ts';

const ledger = createMemoryLedger();
const logged: string[] = [];
const logLines = () => logged.map((l) => JSON.parse(l) as Record<string, unknown>);
const built = buildApp(loadConfig({ CHAIN: 'incoming:3#incoming-push' }, 'dev'), {
  ledger,
  notifier: new RecordingNotifier(),
  registry: createRegistry(builtinJobs({ httpAllow: [], execCommands: [] })),
  clock: systemClock,
  logger: pino({ level: 'warn' }, { write: (line: string) => logged.push(line) }),
});
await built.app.listen({ port: 0, host: '127.0.0.1' });
const port = (built.app.server.address() as { port: number }).port;
t.teardown(() => built.app.close());

function post(path: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-length': String(body.length), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const envelope = (extra: object = {}) => Buffer.from(JSON.stringify({ type: 'echo', data: 1, ...extra }));

t.test('every header map Cloud Tasks accepts (under 80 KB) is accepted: one 80 KB header, and 80 KB of small headers with the task name last', async (t) => {
  const one = await post('/tasks', envelope(), { 'x-cloudtasks-taskname': 'hdr-one', 'x-custom': 'h'.repeat(CLOUD_TASKS_HEADER_BYTES - 20) });
  t.equal(one.status, 200);
  t.match(JSON.parse(one.body), { id: 'hdr-one', outcome: 'succeeded' });
  // Distinct 3-character names with empty-ish values: the most wire bytes per byte Cloud Tasks counts.
  const many: Record<string, string> = {};
  let counted = 0;
  for (let i = 0; counted + 5 < CLOUD_TASKS_HEADER_BYTES - 64; i++) {
    const name = `x${i.toString(36).padStart(3, '0')}`;
    many[name] = 'v';
    counted += name.length + 1;
  }
  many['x-cloudtasks-taskname'] = 'hdr-many';
  many['x-cloudtasks-queuename'] = 'incoming';
  const wire = Object.entries(many).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
  t.ok(Object.keys(many).length > 2000 && wire > 64 * 1024, `${Object.keys(many).length} headers, ${wire} bytes on the wire`);
  const res = await post('/tasks', envelope(), many);
  t.equal(res.status, 200);
  t.match(JSON.parse(res.body), { id: 'hdr-many', outcome: 'succeeded' }, 'the task name after 2,000 other headers is read');
  t.equal((await ledger.get('hdr-many'))?.state, 'succeeded');
});

t.test('odd Content-Types reach the delivery over HTTP', async (t) => {
  for (const ct of ['', 'a', 'text', 'json', '/', 'x/y z', 'application/json, text/plain']) {
    const res = await post('/tasks', envelope(), { 'content-type': ct });
    t.equal(res.status, 200, JSON.stringify(ct));
    t.equal(JSON.parse(res.body).outcome, 'succeeded', `${JSON.stringify(ct)} ran the job`);
    const ps = await post(
      '/pubsub',
      Buffer.from(JSON.stringify({ message: { data: envelope().toString('base64'), messageId: `ct${ct.length}${ct.charCodeAt(0) || 0}` } })),
      { 'content-type': ct },
    );
    t.equal(ps.status, 200, `/pubsub ${JSON.stringify(ct)}`);
  }
});

t.test('a body over the /tasks limit is recorded under its task name, by hash, and acknowledged', async (t) => {
  const big = Buffer.alloc(TASK_BODY_LIMIT + 1, 'a');
  const res = await post('/tasks', big, { 'x-cloudtasks-taskname': 'too-big' });
  t.equal(res.status, 200);
  t.match(JSON.parse(res.body), { id: 'too-big', outcome: 'failed', error: { code: 'InvalidTask', message: /over the limit/ } });
  t.equal((await ledger.get('too-big'))?.state, 'failed');
  const anon = await post('/tasks', big);
  const sha = createHash('sha256').update(big).digest('hex');
  t.match(JSON.parse(anon.body), { id: `invalid-${sha}`, outcome: 'failed' }, 'without a name: keyed by the hash of the whole body');
});

t.test('a 10 MB Pub/Sub message (a 13.4 MB push body) runs its job', async (t) => {
  const env = Buffer.from(JSON.stringify({ type: 'echo', data: 'd'.repeat(10_000_000 - 40) }));
  const push = Buffer.from(
    JSON.stringify({ message: { data: env.toString('base64'), messageId: 'ten-mb' }, subscription: 'projects/p/subscriptions/incoming-push' }),
  );
  t.ok(push.length > 13_000_000);
  const res = await post('/pubsub', push, { 'content-type': 'application/json' });
  t.equal(res.status, 200);
  t.match(JSON.parse(res.body), { id: 'pubsub-ten-mb', outcome: 'succeeded' });
});

t.test('compressed pushes are decoded over HTTP: gzip, deflate, br and layers run their job, on /tasks and /pubsub', async (t) => {
  const codings: Array<[string, (b: Buffer) => Buffer]> = [
    ['gzip', (b) => gzipSync(b)],
    ['deflate', (b) => deflateSync(b)],
    ['br', (b) => brotliCompressSync(b)],
    ['gzip, br', (b) => brotliCompressSync(gzipSync(b))],
  ];
  for (const [coding, encode] of codings) {
    const res = await post('/tasks', encode(envelope()), { 'content-encoding': coding, 'x-cloudtasks-taskname': `enc-${coding.replace(/\W/g, '')}` });
    t.equal(res.status, 200, coding);
    t.match(JSON.parse(res.body), { outcome: 'succeeded' }, `${coding} ran the job`);
    const push = Buffer.from(JSON.stringify({ message: { data: envelope().toString('base64'), messageId: `enc-${coding.replace(/\W/g, '')}` } }));
    const ps = await post('/pubsub', encode(push), { 'content-encoding': coding });
    t.match(JSON.parse(ps.body), { outcome: 'succeeded' }, `/pubsub ${coding} ran the job`);
  }
});

t.test('a gzip bomb is recorded by the hash of the bytes received and acknowledged, without inflating it', async (t) => {
  const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024), { level: 9 });
  t.ok(bomb.length < TASK_BODY_LIMIT, `${bomb.length} bytes on the wire`);
  const before = process.memoryUsage().rss;
  const named = await post('/tasks', bomb, { 'content-encoding': 'gzip', 'x-cloudtasks-taskname': 'bomb' });
  t.equal(named.status, 200);
  t.match(JSON.parse(named.body), { id: 'bomb', outcome: 'failed', error: { code: 'InvalidTask', message: /gzip body decodes to more than the limit/ } });
  t.equal((await ledger.get('bomb'))?.state, 'failed');
  const anon = await post('/tasks', bomb, { 'content-encoding': 'gzip' });
  const sha = createHash('sha256').update(bomb).digest('hex');
  t.match(JSON.parse(anon.body), { id: `invalid-${sha}`, outcome: 'failed' }, 'keyed by the hash of the compressed bytes');
  const again = await post('/tasks', bomb, { 'content-encoding': 'gzip' });
  t.equal(again.status, 200, 'a redelivery is acknowledged too');
  t.ok(process.memoryUsage().rss - before < 128 * 1024 * 1024, 'far less memory than the 256 MiB it inflates to');
});

t.test('a corrupt gzip stream is an InvalidTask, an unknown coding an UnsupportedEncoding: both recorded and acknowledged', async (t) => {
  const gz = gzipSync(envelope());
  const cut = await post('/tasks', gz.subarray(0, gz.length >> 1), { 'content-encoding': 'gzip', 'x-cloudtasks-taskname': 'cut-gzip' });
  t.equal(cut.status, 200);
  t.match(JSON.parse(cut.body), { id: 'cut-gzip', outcome: 'failed', error: { code: 'InvalidTask', message: /gzip body is corrupt/, permanent: true } });
  const plain = await post('/tasks', envelope(), { 'content-encoding': 'gzip' });
  const sha = createHash('sha256').update(envelope()).digest('hex');
  t.match(JSON.parse(plain.body), { id: `invalid-${sha}`, outcome: 'failed', error: { code: 'InvalidTask' } }, 'a plain body labelled gzip');
  const zstd = await post('/tasks', envelope(), { 'content-encoding': 'zstd', 'x-cloudtasks-taskname': 'zstd' });
  t.equal(zstd.status, 200);
  t.match(JSON.parse(zstd.body), {
    id: 'zstd',
    outcome: 'failed',
    error: { code: 'UnsupportedEncoding', message: /"zstd" is not supported/, permanent: true },
  });
  t.match(await ledger.get('zstd'), { state: 'failed', error: { code: 'UnsupportedEncoding' } });
  const ps = await post('/pubsub', Buffer.from('{}'), { 'content-encoding': 'compress' });
  t.match(JSON.parse(ps.body), { outcome: 'failed', error: { code: 'UnsupportedEncoding' } }, '/pubsub too');
});

t.test('a push over MAX_HEADER_BYTES is answered 431 with a clear error and logged; the server stays healthy', async (t) => {
  const res = await post('/tasks', envelope(), { 'x-cloudtasks-taskname': 'too-many-headers', 'x-custom': 'h'.repeat(MAX_HEADER_BYTES) }).catch(
    (err: NodeJS.ErrnoException) => ({ status: 0, body: err.code ?? '' }),
  );
  // Node may close before the client has read the reply; every run here read it, but a reset is no failure of the server.
  if (res.status !== 0) {
    t.equal(res.status, 431);
    t.match(JSON.parse(res.body), { error: { code: 'HeadersTooLarge', message: new RegExp(`over ${MAX_HEADER_BYTES} bytes`) } });
  } else t.match(res.body, /ECONNRESET|EPIPE/);
  const refused = logLines().filter((l) => /headers are over MAX_HEADER_BYTES/.test(String(l.msg)));
  t.match(refused, [{ level: 40, limit: MAX_HEADER_BYTES, remoteAddress: '127.0.0.1' }], 'one WARN line naming the limit and the caller');
  t.equal(await ledger.get('too-many-headers'), undefined, 'not recorded: the request was never authenticated');
  const health = await new Promise<number>((resolve, reject) =>
    request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    })
      .on('error', reject)
      .end(),
  );
  t.equal(health, 200, 'the server is healthy afterwards');
});

t.test('a request that is not HTTP is answered 400 in the same error shape, and the server stays up', async (t) => {
  const { connect } = await import('node:net');
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString();
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
  t.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
  t.match(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)), { error: { code: 'BadRequest' } });
});
