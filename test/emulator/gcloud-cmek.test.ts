// The installed gcloud, unmodified: cmek-config and locations. One file per few gcloud
// calls: each costs seconds on a busy machine and a test file has 120 s.
import t from 'tap';
import { gcloudFile, LOC, gcloudOk as ok } from './gcloud-cli.ts';
import { api } from './helpers.ts';

const { emu, gcloud } = await gcloudFile();

t.test('cmek-config update, describe and clear; locations list and describe', async (t) => {
  const cmek = async () => {
    const key = 'projects/test-project/locations/us-central1/keyRings/r/cryptoKeys/k';
    ok(t, await gcloud.run('tasks', 'cmek-config', 'update', LOC, `--kms-key-name=${key}`), 'cmek-config update');
    t.equal(((await gcloud.json('tasks', 'cmek-config', 'describe', LOC)) as Record<string, any>).kmsKey, key);
    ok(t, await gcloud.run('tasks', 'cmek-config', 'update', LOC, '--clear-kms-key'), 'clear');
    t.same(
      (await api(emu.url, 'GET', 'projects/test-project/locations/us-central1/cmekConfig')).json,
      { name: 'projects/test-project/locations/us-central1/cmekConfig' },
      'cleared',
    );
  };
  const locations = async () => {
    const [locs, loc] = await Promise.all([gcloud.json('tasks', 'locations', 'list'), gcloud.json('tasks', 'locations', 'describe', 'us-central1')]);
    t.ok((locs as Array<{ locationId: string }>).some((l) => l.locationId === 'us-central1'));
    t.equal((loc as { locationId: string }).locationId, 'us-central1');
  };
  await Promise.all([cmek(), locations()]);
});
