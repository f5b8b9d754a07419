import t from 'tap';
import { defineJob } from '../../src/jobs/define-job.ts';
import { UnknownJobType } from '../../src/jobs/errors.ts';
import { createRegistry } from '../../src/jobs/registry.ts';

const a = defineJob({ type: 'a', run: async () => 'a' });
const b = defineJob({ type: 'b', run: async () => 'b' });

t.test('make returns a fresh job of the registered type', async (t) => {
  const reg = createRegistry([a, b]);
  const j1 = reg.make('a');
  const j2 = reg.make('a');
  t.equal(j1.type, 'a');
  t.not(j1, j2);
  t.ok(reg.has('b'));
  t.notOk(reg.has('c'));
  t.same(reg.types().sort(), ['a', 'b']);
});

t.test('an unknown type throws UnknownJobType, permanent', async (t) => {
  const reg = createRegistry([a]);
  const err = t.throws(() => reg.make('nope')) as UnknownJobType;
  t.type(err, UnknownJobType);
  t.equal(err.code, 'UnknownJobType');
  t.equal(err.permanent, true);
});

t.test('a type registered twice is refused at creation', async (t) => {
  t.throws(() => createRegistry([a, b, defineJob({ type: 'a', run: async () => 1 })]), /job type "a" is registered twice/);
});

t.test('something that is not a factory is refused at creation', async (t) => {
  t.throws(() => createRegistry([{ type: '', make: () => a.make() }]), TypeError);
});
