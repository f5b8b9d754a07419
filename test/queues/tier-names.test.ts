import t from 'tap';
import { nextTierTaskName, taskIdFor } from '../../src/queues/tier-names.ts';
import { TASK_ID } from '../../src/schemas/task-id.ts';

t.test('a short lineage id gives `<id>-t<tier>`', async (t) => {
  t.equal(nextTierTaskName('order-42', 1), 'order-42-t1');
});

t.test('the same lineage and tier always give the same name', async (t) => {
  const long = 'x'.repeat(500);
  t.equal(nextTierTaskName('abc', 2), nextTierTaskName('abc', 2));
  t.equal(nextTierTaskName(long, 2), nextTierTaskName(long, 2));
});

t.test('different tiers give different names', async (t) => {
  const long = 'y'.repeat(499);
  t.not(nextTierTaskName('abc', 1), nextTierTaskName('abc', 2));
  t.not(nextTierTaskName(long, 1), nextTierTaskName(long, 2));
});

t.test('a 500-character lineage id is hashed into a valid task id', async (t) => {
  const long = 'z'.repeat(500);
  const name = nextTierTaskName(long, 3);
  t.match(name, TASK_ID);
  t.ok(name.length <= 500);
  t.match(name, /-t3$/);
});

t.test('two long lineage ids sharing a 400-character prefix get different names', async (t) => {
  const base = 'p'.repeat(400);
  t.not(nextTierTaskName(`${base}${'a'.repeat(100)}`, 1), nextTierTaskName(`${base}${'b'.repeat(100)}`, 1));
});

t.test('a negative or fractional tier is refused', async (t) => {
  t.throws(() => nextTierTaskName('a', -1), RangeError);
  t.throws(() => nextTierTaskName('a', 1.5), RangeError);
});

t.test('taskIdFor keeps a valid id and maps an event id with a slash to a stable valid id', async (t) => {
  t.equal(taskIdFor('abc_1-2'), 'abc_1-2');
  const a = taskIdFor('lin/succeeded');
  t.match(a, TASK_ID);
  t.equal(a, taskIdFor('lin/succeeded'));
  t.not(a, taskIdFor('lin/failed'));
  t.match(taskIdFor(`${'q'.repeat(500)}/forwarded-3`), TASK_ID);
});
