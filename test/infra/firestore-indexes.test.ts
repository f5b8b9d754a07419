// The composite indexes GET /v1/tasks needs, declared twice (firestore.indexes.json
// for the Firebase CLI, Terraform for infra/): both must hold the same set.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));

t.test('firestore.indexes.json and Terraform declare one list index per filter, newest first', async (t) => {
  const json = JSON.parse(readFileSync(`${root}firestore.indexes.json`, 'utf8')) as {
    indexes: Array<{ collectionGroup: string; fields: Array<{ fieldPath: string; order: string }> }>;
  };
  const filters = json.indexes.map((i) => {
    t.equal(i.collectionGroup, 'executor-lineages');
    t.same(i.fields.slice(1), [
      { fieldPath: 'createdAt', order: 'DESCENDING' },
      { fieldPath: '__name__', order: 'DESCENDING' },
    ]);
    return i.fields[0]!.fieldPath;
  });
  t.same(filters.sort(), ['queue', 'state', 'type']);
  const tf = readFileSync(`${root}infra/terraform/firestore.tf`, 'utf8');
  const block = /resource "google_firestore_index" "lineages_list" \{[\s\S]*?\n\}/.exec(tf)?.[0] ?? '';
  t.match(block, /for_each = toset\(\["state", "type", "queue"\]\)/);
  t.match(block, /field_path = "createdAt"\s+order\s+= "DESCENDING"/);
  t.match(block, /collection = "executor-lineages"/);
});
