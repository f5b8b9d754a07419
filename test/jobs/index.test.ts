import t from 'tap';
import { builtinJobs, createRegistry } from '../../src/jobs/index.ts';
import { jobContext } from './context.ts';

t.test('builtinJobs registers echo, http and exec with the sandbox settings', async (t) => {
  const reg = createRegistry(builtinJobs({ httpAllow: [], execCommands: ['echo'], execPermanentExitCodes: [3] }));
  t.same(reg.types().sort(), ['echo', 'exec', 'http']);
  const http = reg.make('http');
  http.create({ url: 'http://127.0.0.1:1/' });
  await t.rejects(http.run(undefined, jobContext()), { code: 'HostNotAllowed' }, 'an empty allow list refuses every host');
  const exec = reg.make('exec');
  exec.create({ command: 'echo', args: ['hi'] });
  t.match(await exec.run(undefined, jobContext()), { state: 'succeeded', stdout: 'hi\n' });
});
