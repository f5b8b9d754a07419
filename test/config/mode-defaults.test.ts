// The defaults that differ by mode: dev on loopback with a local blob folder,
// the CLI against the emulator finding dev's project, location and blobs.
import t from 'tap';
import { DEFAULTS, DEV, devBlobDir, loadConfig } from '../../src/config.ts';

t.test('dev listens on 127.0.0.1 unless HOST says otherwise; serve on every interface', async (t) => {
  t.equal(loadConfig({}, 'dev').host, '127.0.0.1');
  t.equal(loadConfig({}, 'emulator').host, '127.0.0.1');
  t.equal(loadConfig({ HOST: '0.0.0.0' }, 'dev').host, '0.0.0.0');
  t.equal(loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'l', AUTH: 'none', ALLOW_UNAUTHENTICATED: '1' }, 'serve').host, DEFAULTS.HOST);
});

t.test('dev keeps blobs in a local folder by default; an empty BLOB_DIR or a BUCKET replaces it', async (t) => {
  t.equal(loadConfig({}, 'dev').blobs.dir, devBlobDir());
  t.equal(loadConfig({ BLOB_DIR: '/somewhere' }, 'dev').blobs.dir, '/somewhere');
  t.equal(loadConfig({ BLOB_DIR: '' }, 'dev').blobs.dir, undefined);
  t.equal(loadConfig({ BUCKET: 'b' }, 'dev').blobs.dir, undefined, 'a bucket replaces the folder');
  t.equal(
    loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'l', AUTH: 'none', ALLOW_UNAUTHENTICATED: '1' }, 'serve').blobs.dir,
    undefined,
    'serve has no default blob store',
  );
});

t.test("the CLI against the emulator uses dev's project, location and blob folder", async (t) => {
  const c = loadConfig({ CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:8123' }, 'cli');
  t.equal(c.project, DEV.GOOGLE_CLOUD_PROJECT);
  t.equal(c.location, DEV.LOCATION);
  t.equal(c.blobs.dir, devBlobDir());
  t.equal(loadConfig({ CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:8123', BUCKET: 'b' }, 'cli').blobs.dir, undefined, 'a bucket wins');
  const real = loadConfig({}, 'cli');
  t.equal(real.project, '');
  t.equal(real.blobs.dir, undefined, 'no local folder against real Cloud Tasks');
});
