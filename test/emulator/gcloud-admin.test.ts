// The installed gcloud, unmodified: queue IAM commands. One file per few gcloud
// calls: each costs seconds on a busy machine and a test file has 120 s.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { gcloudFile, LOC, gcloudOk as ok } from './gcloud-cli.ts';
import { api, PARENT } from './helpers.ts';

// One emulator, one push target and one gcloud config for the file: each gcloud call costs about a second.
const { emu, gcloud } = await gcloudFile({ appEngine: true });

t.test('IAM commands answer at once: get, add and remove a binding, set from a file', async (t) => {
  const iam = async () => {
    await api(emu.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/iamq` });
    const empty = (await gcloud.json('tasks', 'queues', 'get-iam-policy', 'iamq', LOC)) as Record<string, any>;
    t.equal(empty.etag, 'ACAB');
    ok(
      t,
      await gcloud.run(
        'tasks',
        'queues',
        'add-iam-policy-binding',
        'iamq',
        LOC,
        '--member=serviceAccount:sa@test-project.iam.gserviceaccount.com',
        '--role=roles/cloudtasks.enqueuer',
      ),
      'add binding',
    );
    const withBinding = (await api(emu.url, 'POST', `${PARENT}/queues/iamq:getIamPolicy`, {})).json;
    t.same(withBinding.bindings, [{ role: 'roles/cloudtasks.enqueuer', members: ['serviceAccount:sa@test-project.iam.gserviceaccount.com'] }]);
    ok(
      t,
      await gcloud.run(
        'tasks',
        'queues',
        'remove-iam-policy-binding',
        'iamq',
        LOC,
        '--member=serviceAccount:sa@test-project.iam.gserviceaccount.com',
        '--role=roles/cloudtasks.enqueuer',
      ),
      'remove binding',
    );
    const dir = mkdtempSync(join(tmpdir(), 'iam-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ bindings: [{ role: 'roles/cloudtasks.viewer', members: ['user:a@example.com'] }] }));
    ok(t, await gcloud.run('tasks', 'queues', 'set-iam-policy', 'iamq', join(dir, 'policy.json'), LOC), 'set-iam-policy');
    t.same((await api(emu.url, 'POST', `${PARENT}/queues/iamq:getIamPolicy`, {})).json.bindings, [
      { role: 'roles/cloudtasks.viewer', members: ['user:a@example.com'] },
    ]);
  };
  await iam();
});
