import t from 'tap';
import { checkEnvelope } from '../../src/schemas/index.ts';

t.test('a minimal envelope with a type is valid', async (t) => {
  const r = checkEnvelope({ type: 'echo' });
  t.equal(r.ok, true);
});

t.test('an envelope without a type names the missing field', async (t) => {
  const r = checkEnvelope({ args: {} });
  t.equal(r.ok, false);
  if (!r.ok) t.match(r.reason, /type/);
});

t.test('data and dataRef together are refused', async (t) => {
  const r = checkEnvelope({ type: 'echo', data: 1, dataRef: 'gs://b/o' });
  t.equal(r.ok, false);
});

t.test('a lineage id with a slash is refused (it becomes a task name)', async (t) => {
  const r = checkEnvelope({ type: 'echo', id: 'a/b' });
  t.equal(r.ok, false);
});
