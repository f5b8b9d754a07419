// The GCS blob store against nock replaying the JSON API of
// storage.googleapis.com (shapes recorded from the real service). No request
// may leave the process: every unmatched request fails the test.

import { createHash } from 'node:crypto';
import { CRC32C, Storage } from '@google-cloud/storage';
import { PassThroughClient } from 'google-auth-library';
import nock from 'nock';
import t from 'tap';
import { createGcsBlobStore } from '../../src/blobs/gcs-blob-store.ts';

const API = 'https://storage.googleapis.com';
const BUCKET = 'exec-bucket';

const unmatched: string[] = [];
const onNoMatch = (req: { method?: string; url?: string; href?: string }) => unmatched.push(`${req.method} ${req.url ?? req.href}`);
nock.disableNetConnect();
nock.enableNetConnect('127.0.0.1');
nock.emitter.on('no match', onNoMatch);
t.teardown(() => {
  nock.emitter.removeListener('no match', onNoMatch);
  nock.cleanAll();
  nock.enableNetConnect();
  nock.restore();
});
/** Ends each test: nothing unmatched, nothing expected left unused. */
function allRequestsMatched(t: { same(a: unknown, b: unknown, m: string): void; ok(v: unknown, m: string): void }) {
  t.same(unmatched, [], 'no request left unmatched');
  t.ok(nock.isDone(), `every expected request was made: ${nock.pendingMocks().join(', ')}`);
  unmatched.length = 0;
  nock.cleanAll();
}

function crc32c(bytes: Buffer): string {
  const c = new CRC32C();
  c.update(bytes);
  return c.toString();
}

// PassThroughClient: no token fetch, no metadata-server probe.
const storage = () => new Storage({ projectId: 'p', authClient: new PassThroughClient() as never, retryOptions: { maxRetries: 1 } });

function objectResource(name: string, bytes: Buffer, contentType: string) {
  return {
    kind: 'storage#object',
    id: `${BUCKET}/${name}/1700000000000000`,
    selfLink: `${API}/storage/v1/b/${BUCKET}/o/${encodeURIComponent(name)}`,
    mediaLink: `${API}/download/storage/v1/b/${BUCKET}/o/${encodeURIComponent(name)}?generation=1700000000000000&alt=media`,
    name,
    bucket: BUCKET,
    generation: '1700000000000000',
    metageneration: '1',
    contentType,
    storageClass: 'STANDARD',
    size: String(bytes.length),
    md5Hash: createHash('md5').update(bytes).digest('base64'),
    crc32c: crc32c(bytes),
    etag: 'CIDg7/fVrIIDEAE=',
    timeCreated: '2023-11-14T22:13:20.000Z',
    updated: '2023-11-14T22:13:20.000Z',
  };
}

t.test('put uploads create-if-absent under the prefix and returns gs://bucket/key', async (t) => {
  const bytes = Buffer.from(JSON.stringify({ big: 'payload' }));
  let sent = '';
  nock(API)
    .post(`/upload/storage/v1/b/${BUCKET}/o`, (body: unknown) => {
      sent = typeof body === 'string' ? body : JSON.stringify(body);
      return true;
    })
    .query((q) => q.uploadType === 'multipart' && q.name === 'payloads/lin-1/data.json' && q.ifGenerationMatch === '0')
    .reply(200, objectResource('payloads/lin-1/data.json', bytes, 'application/json'));
  const store = createGcsBlobStore({ bucket: BUCKET, storage: storage() });
  const ref = await store.put('lin-1/data.json', bytes, 'application/json');
  t.equal(ref, `gs://${BUCKET}/payloads/lin-1/data.json`);
  t.match(sent, '{"big":"payload"}', 'the bytes are in the multipart body');
  t.match(sent, 'application/json', 'the content type is in the object metadata');
  allRequestsMatched(t);
});

t.test('put treats a 412 precondition failure as the object already being there', async (t) => {
  nock(API)
    .post(`/upload/storage/v1/b/${BUCKET}/o`)
    .query(true)
    .reply(412, {
      error: {
        code: 412,
        message: 'At least one of the pre-conditions you specified did not hold.',
        errors: [
          {
            message: 'At least one of the pre-conditions you specified did not hold.',
            domain: 'global',
            reason: 'conditionNotMet',
            locationType: 'header',
            location: 'If-Match',
          },
        ],
      },
    });
  const store = createGcsBlobStore({ bucket: BUCKET, storage: storage(), prefix: 'x/' });
  t.equal(await store.put('k', Buffer.from('v')), `gs://${BUCKET}/x/k`);
  allRequestsMatched(t);
});

t.test('put passes on other upload errors', async (t) => {
  nock(API)
    .post(`/upload/storage/v1/b/${BUCKET}/o`)
    .query(true)
    .reply(403, {
      error: { code: 403, message: 'sa does not have storage.objects.create access', errors: [{ message: 'denied', domain: 'global', reason: 'forbidden' }] },
    });
  const store = createGcsBlobStore({ bucket: BUCKET, storage: storage() });
  await t.rejects(store.put('k', Buffer.from('v')), { code: 403 });
  allRequestsMatched(t);
});

t.test('get downloads the object media', async (t) => {
  const bytes = Buffer.from('hello payload');
  nock(API)
    .get(`/storage/v1/b/${BUCKET}/o/${encodeURIComponent('payloads/lin-2/data.json')}`)
    .query((q) => q.alt === 'media')
    .reply(200, bytes, {
      'content-type': 'application/octet-stream',
      'x-goog-hash': `crc32c=${crc32c(bytes)},md5=${createHash('md5').update(bytes).digest('base64')}`,
      'x-goog-generation': '1700000000000000',
      'x-goog-stored-content-length': String(bytes.length),
    });
  const store = createGcsBlobStore({ bucket: BUCKET, storage: storage() });
  t.same(await store.get(`gs://${BUCKET}/payloads/lin-2/data.json`), bytes);
  allRequestsMatched(t);
});

t.test('get refuses a reference in another bucket or not gs://', async (t) => {
  const store = createGcsBlobStore({ bucket: BUCKET, storage: storage() });
  await t.rejects(store.get('gs://someone-elses/secret'), { code: 'BlobRefRefused' });
  await t.rejects(store.get('file:///etc/passwd'), { code: 'BlobRefRefused' });
  allRequestsMatched(t);
});

t.test('delete removes the object and ignores a 404', async (t) => {
  const path = `/storage/v1/b/${BUCKET}/o/${encodeURIComponent('payloads/gone')}`;
  nock(API).delete(path).query(true).reply(204);
  nock(API)
    .delete(path)
    .query(true)
    .reply(404, {
      error: {
        code: 404,
        message: `No such object: ${BUCKET}/payloads/gone`,
        errors: [{ message: `No such object: ${BUCKET}/payloads/gone`, domain: 'global', reason: 'notFound' }],
      },
    });
  const store = createGcsBlobStore({ bucket: BUCKET, storage: storage() });
  await store.delete(`gs://${BUCKET}/payloads/gone`);
  await t.resolves(store.delete(`gs://${BUCKET}/payloads/gone`));
  allRequestsMatched(t);
});
