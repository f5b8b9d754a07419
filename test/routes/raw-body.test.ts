// raw-body.ts: what the push routes read; the hash must be of the whole body
// whether it was kept (hashed on demand) or over the limit (hashed as it streamed).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import t from 'tap';
import { isRawBody, readRawBody } from '../../src/routes/raw-body.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const chunks = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

t.test('a body within the limit is kept whole, and its hash is of those bytes', async (t) => {
  const body = await readRawBody(chunks('{"type":', '"echo"}'), 64);
  t.ok(isRawBody(body));
  t.equal(body.bytes?.toString(), '{"type":"echo"}');
  t.equal(body.size, 15);
  t.equal(body.sha256, sha(Buffer.from('{"type":"echo"}')));
  const empty = await readRawBody(chunks(), 64);
  t.equal(empty.sha256, sha(Buffer.alloc(0)), 'an empty body has the hash of nothing');
});

t.test('a body that passes the limit mid-stream is dropped but hashed whole, chunks before the limit included', async (t) => {
  const parts = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)];
  const body = await readRawBody(chunks(...parts), 64);
  t.equal(body.bytes, undefined);
  t.equal(body.size, 120);
  t.equal(body.sha256, sha(Buffer.from(parts.join(''))));
});

t.test('only what readRawBody made is a RawBody', async (t) => {
  t.notOk(isRawBody({ size: 1, sha256: 'x', limit: 1 }));
  t.notOk(isRawBody(undefined));
});

t.test('a gzip body is decoded, and its hash stays that of the bytes received', async (t) => {
  const { gzipSync } = await import('node:zlib');
  const gz = gzipSync('{"type":"echo"}');
  const body = await readRawBody(Readable.from([gz]), 64, 'gzip');
  t.equal(body.bytes?.toString(), '{"type":"echo"}');
  t.equal(body.size, gz.length);
  t.equal(body.sha256, sha(gz));
  const bomb = gzipSync(Buffer.alloc(10_000));
  const over = await readRawBody(Readable.from([bomb]), 64, 'gzip');
  t.equal(over.bytes, undefined);
  t.match(over.rejection, { code: 'InvalidTask', reason: /decodes to more than the limit of 64/ });
  t.equal(over.sha256, sha(bomb));
  const unknown = await readRawBody(chunks('{}'), 64, 'zstd');
  t.match(unknown.rejection, { code: 'UnsupportedEncoding' });
});
