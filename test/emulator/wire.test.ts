import t from 'tap';
import { GoogleApiError } from '../../src/emulator/google-error.ts';
import { formatDuration, formatEtaSeconds, httpMethodEnum, page, parseBytes, parseDuration, parseTimestamp } from '../../src/emulator/wire.ts';

t.test('durations parse from proto3 JSON strings and format with 0 or 3 fraction digits', async (t) => {
  t.equal(parseDuration('0.100s', 'f'), 100);
  t.equal(parseDuration('3600s', 'f'), 3_600_000);
  t.equal(parseDuration('1.5s', 'f'), 1500);
  t.equal(formatDuration(100), '0.100s');
  t.equal(formatDuration(3_600_000), '3600s');
  t.throws(() => parseDuration('10', 'queue.retry_config.min_backoff'), GoogleApiError);
});

t.test('timestamps accept nanosecond fractions and offsets', async (t) => {
  t.equal(parseTimestamp('2023-11-14T22:13:20.000000005Z', 'f'), 1_700_000_000_000);
  t.equal(parseTimestamp('2023-11-14T23:13:20.5+01:00', 'f'), 1_700_000_000_500);
  t.throws(() => parseTimestamp('yesterday', 'f'), GoogleApiError);
  t.equal(formatEtaSeconds(1_602_727_873_950), '1602727873.950000');
});

t.test('enums are accepted by name or by number and written either way', async (t) => {
  t.equal(httpMethodEnum.parse(4, 'm'), 'PUT');
  t.equal(httpMethodEnum.parse('PUT', 'm'), 'PUT');
  t.equal(httpMethodEnum.parse('4', 'm'), 'PUT');
  t.equal(httpMethodEnum.format('PUT', true), 4);
  t.equal(httpMethodEnum.format('PUT', false), 'PUT');
  t.throws(() => httpMethodEnum.parse('FETCH', 'm'), GoogleApiError);
});

t.test('bytes decode from both the standard and the URL-safe base64 alphabet', async (t) => {
  const bytes = Buffer.from([0xfb, 0xff, 0xfe, 0x3e]);
  t.same(parseBytes(bytes.toString('base64'), 'b'), bytes);
  t.same(parseBytes(bytes.toString('base64url'), 'b'), bytes);
  t.throws(() => parseBytes('not base64!', 'b'), GoogleApiError);
});

t.test('pages walk a list with opaque tokens and end without one', async (t) => {
  const items = [1, 2, 3, 4, 5];
  const first = page(items, 2, undefined, 1000);
  t.same(first.items, [1, 2]);
  const second = page(items, 2, first.nextPageToken, 1000);
  t.same(second.items, [3, 4]);
  const last = page(items, 2, second.nextPageToken, 1000);
  t.same(last.items, [5]);
  t.equal(last.nextPageToken, undefined);
  t.throws(() => page(items, 2, 'garbage', 1000), GoogleApiError);
});
