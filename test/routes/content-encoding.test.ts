// content-encoding.ts: a compressed push body is decoded with its output
// bounded at every step; what cannot be decoded says why, with the code it is
// recorded under.
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { contentCodings, decodeBody } from '../../src/routes/content-encoding.ts';

const json = Buffer.from('{"type":"echo","data":1}');

t.test('Content-Encoding is read as a list of codings, identity dropped, case ignored', async (t) => {
  t.same(contentCodings(undefined), []);
  t.same(contentCodings('identity'), []);
  t.same(contentCodings(' GZIP '), ['gzip']);
  t.same(contentCodings('gzip, br'), ['gzip', 'br']);
  t.same(contentCodings(['deflate', 'identity, br']), ['deflate', 'br']);
});

t.test('gzip, x-gzip, deflate (zlib-wrapped or bare), br and layers of them decode to the original bytes', async (t) => {
  for (const [codings, bytes] of [
    [['gzip'], gzipSync(json)],
    [['x-gzip'], gzipSync(json)],
    [['deflate'], deflateSync(json)],
    [['deflate'], deflateRawSync(json)],
    [['br'], brotliCompressSync(json)],
    [['gzip', 'br'], brotliCompressSync(gzipSync(json))],
  ] as Array<[string[], Buffer]>) {
    const r = await decodeBody(bytes, codings, 1024);
    t.same(r, { ok: true, bytes: json }, codings.join(','));
  }
});

t.test('a bomb stops at the limit, for every coding and for a bomb inside another coding', async (t) => {
  const zeros = Buffer.alloc(64 * 1024 * 1024);
  for (const [codings, bytes] of [
    [['gzip'], gzipSync(zeros, { level: 9 })],
    [['deflate'], deflateSync(zeros, { level: 9 })],
    [['deflate'], deflateRawSync(zeros, { level: 9 })],
    [['br'], brotliCompressSync(zeros)],
    [['gzip', 'gzip'], gzipSync(gzipSync(zeros, { level: 9 }), { level: 9 })],
  ] as Array<[string[], Buffer]>) {
    const started = performance.now();
    const r = await decodeBody(bytes, codings, 100_000);
    t.match(r, { ok: false, code: 'InvalidTask', reason: /decodes to more than the limit of 100000 bytes/ }, codings.join(','));
    t.ok(performance.now() - started < 2000, `${codings.join(',')} stopped early (${Math.round(performance.now() - started)} ms)`);
  }
  t.match(await decodeBody(gzipSync(Buffer.alloc(100_000)), ['gzip'], 100_000), { ok: true }, 'exactly the limit decodes');
});

t.test('a corrupt or cut stream is InvalidTask saying so', async (t) => {
  const gz = gzipSync(json);
  t.match(await decodeBody(json, ['gzip'], 1024), { ok: false, code: 'InvalidTask', reason: /gzip body is corrupt: incorrect header check/ });
  t.match(await decodeBody(gz.subarray(0, gz.length - 4), ['gzip'], 1024), { ok: false, code: 'InvalidTask', reason: /gzip body is corrupt/ });
  t.match(await decodeBody(json, ['br'], 1024), { ok: false, code: 'InvalidTask', reason: /br body is corrupt/ });
  t.match(await decodeBody(json, ['deflate'], 1024), { ok: false, code: 'InvalidTask', reason: /deflate body is corrupt/ });
});

t.test('an unknown coding, or too many, is UnsupportedEncoding', async (t) => {
  t.match(await decodeBody(json, ['compress'], 1024), { ok: false, code: 'UnsupportedEncoding', reason: /"compress" is not supported/ });
  t.match(await decodeBody(json, ['gzip', 'zstd'], 1024), { ok: false, code: 'UnsupportedEncoding', reason: /"zstd"/ });
  t.match(await decodeBody(json, ['__proto__'], 1024), { ok: false, code: 'UnsupportedEncoding' }, 'no prototype key is a decoder');
  t.match(await decodeBody(json, ['gzip', 'gzip', 'gzip', 'gzip'], 1024), { ok: false, code: 'UnsupportedEncoding', reason: /4 content codings/ });
});
