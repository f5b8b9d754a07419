// intake.ts: raw bytes to a checked envelope or an invalid-task error, with
// nothing recursive run on a body before its depth is known.
import t from 'tap';
import { intakeTask, parseJsonDefensively, scanDepth, sha256Hex } from '../../src/delivery/intake.ts';
import { MAX_JSON_DEPTH } from '../../src/limits.ts';

const body = (s: string) => Buffer.from(s);

t.test('the depth scan counts [ and { outside strings, stops past the limit, and needs no valid JSON', async (t) => {
  t.equal(scanDepth('{"a":[1,{"b":[]}]}', 64), 4);
  t.equal(scanDepth('"[[[[[["', 64), 0, 'inside a string');
  t.equal(scanDepth('"\\"[[[["', 64), 0, 'an escaped quote does not end the string');
  t.equal(scanDepth('['.repeat(1_000_000), 64), 65, 'stops as soon as it passes the limit');
  t.equal(scanDepth(']]]]', 64), 0);
});

t.test(`nesting up to ${MAX_JSON_DEPTH} levels passes; deeper is an invalid task, however deep`, async (t) => {
  const nest = (n: number) => `{"type":"echo","data":${'['.repeat(n - 1)}${']'.repeat(n - 1)}}`;
  t.ok(intakeTask(body(nest(MAX_JSON_DEPTH))).ok);
  for (const n of [MAX_JSON_DEPTH + 1, 1800, 5000, 1_000_000]) {
    const r = intakeTask(body(nest(n)));
    t.match(r, { ok: false, error: { code: 'InvalidTask', permanent: true, message: /nests deeper than 64/ } }, `${n} levels`);
  }
});

t.test('lone surrogates and NUL anywhere (values or keys) make an invalid task; paired surrogates are fine', async (t) => {
  for (const s of [
    '{"type":"\\ud800"}',
    '{"type":"echo","notify":{"url":"http://x/\\udc00"}}',
    '{"type":"echo","data":{"a\\ud800":1}}',
    '{"type":"ec\\u0000ho"}',
    '{"type":"echo","args":{"x":["\\u0000"]}}',
  ]) {
    t.match(intakeTask(body(s)), { ok: false, error: { code: 'InvalidTask', message: /lone surrogate|NUL/ } }, s);
  }
  t.ok(intakeTask(body('{"type":"echo","data":"\\ud83d\\ude00 😀"}')).ok, 'an emoji, escaped and raw');
});

t.test('keys over 1 KiB are refused, and the message quotes at most a short cut of them', async (t) => {
  const key = 'k'.repeat(600_000);
  const r = intakeTask(body(`{"type":"echo","notify":{"${key}":1}}`));
  t.equal(r.ok, false);
  if (!r.ok) {
    t.match(r.error.message, /longer than 1024 bytes/);
    t.ok(Buffer.byteLength(r.error.message) <= 512, `message of ${r.error.message.length} bytes`);
  }
});

t.test('every refusal carries the SHA-256 of the raw body, which is never kept', async (t) => {
  const raw = body('not json');
  const r = intakeTask(raw);
  t.match(r, { ok: false, sha256: sha256Hex(raw), error: { message: 'body is not JSON' } });
  t.match(intakeTask(undefined), { ok: false, sha256: sha256Hex(Buffer.alloc(0)), error: { message: 'empty body' } });
  t.match(intakeTask(raw, { reason: 'body of 9 bytes is over the limit of 1', sha256: 'ab' }), { ok: false, sha256: 'ab' });
});

t.test('__proto__ and constructor keys stay plain own properties and pollute nothing', async (t) => {
  const r = parseJsonDefensively(body('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'));
  t.ok(r.ok);
  t.equal(({} as Record<string, unknown>).polluted, undefined);
  const env = intakeTask(body('{"type":"echo","__proto__":{"type":"evil"}}'));
  t.match(env, { ok: true, envelope: { type: 'echo' } });
});
