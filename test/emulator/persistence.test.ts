// EMULATOR_STATE: queues, tasks, tombstones and IAM policies survive a restart;
// --fresh starts empty; a file that is not ours stops start-up and is kept.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { StateFileError, startEmulator } from '../../src/emulator/index.ts';
import { api, PARENT, startTarget, waitFor } from './helpers.ts';

function stateDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'emulator-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'nested', 'state.json');
}

t.test('a restart keeps queues, a scheduled task (which then runs), tombstones and policies', async (t) => {
  const statePath = stateDir(t);
  const target = await startTarget();
  t.teardown(() => target.close());
  const first = await startEmulator({ logger: false, statePath });
  await api(first.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/kept`, retryConfig: { maxAttempts: 4 } });
  const at = new Date(Date.now() + 1500).toISOString();
  const made = await api(first.url, 'POST', `${PARENT}/queues/kept/tasks`, {
    task: {
      name: `${PARENT}/queues/kept/tasks/later`,
      scheduleTime: at,
      httpRequest: { url: `${target.url}/later`, body: Buffer.from('kept body').toString('base64') },
    },
  });
  t.equal(made.status, 200);
  await api(first.url, 'POST', `${PARENT}/queues/kept/tasks`, {
    task: { name: `${PARENT}/queues/kept/tasks/gone`, scheduleTime: at, httpRequest: { url: target.url } },
  });
  await api(first.url, 'DELETE', `${PARENT}/queues/kept/tasks/gone`);
  const policy = await api(first.url, 'POST', `${PARENT}/queues/kept:setIamPolicy`, {
    policy: { bindings: [{ role: 'roles/cloudtasks.viewer', members: ['user:a@example.com'] }] },
  });
  await first.close();
  t.equal(target.pushes.length, 0, 'nothing ran before the restart');
  t.match(readFileSync(statePath, 'utf8'), /"later"/, 'written to the file');

  const second = await startEmulator({ logger: false, statePath });
  t.teardown(() => second.close());
  const q = await api(second.url, 'GET', `${PARENT}/queues/kept`);
  t.equal(q.json.retryConfig.maxAttempts, 4);
  const task = await api(second.url, 'GET', `${PARENT}/queues/kept/tasks/later?responseView=FULL`);
  t.equal(task.json.scheduleTime, at);
  t.equal(Buffer.from(task.json.httpRequest.body, 'base64').toString(), 'kept body');
  const reuse = await api(second.url, 'POST', `${PARENT}/queues/kept/tasks`, {
    task: { name: `${PARENT}/queues/kept/tasks/gone`, httpRequest: { url: target.url } },
  });
  t.equal(reuse.json.error.status, 'ALREADY_EXISTS', 'the tombstone survived');
  t.same((await api(second.url, 'POST', `${PARENT}/queues/kept:getIamPolicy`, {})).json, policy.json);
  await waitFor(() => target.pushes.length === 1, 20_000);
  t.equal(target.pushes[0]!.url, '/later');
  t.equal(target.pushes[0]!.body.toString(), 'kept body');
  const savedTasks = () => (JSON.parse(readFileSync(statePath, 'utf8')) as { queues: Array<{ tasks: unknown[] }> }).queues[0]!.tasks.length;
  await waitFor(() => savedTasks() === 0, 20_000);
  t.equal(savedTasks(), 0, 'the finished task left the file');
});

t.test('fresh ignores the file; a file that is not a state file stops start-up and is kept', async (t) => {
  const statePath = stateDir(t);
  const first = await startEmulator({ logger: false, statePath });
  await api(first.url, 'POST', `${PARENT}/queues`, { name: `${PARENT}/queues/old` });
  await first.close();
  const fresh = await startEmulator({ logger: false, statePath, fresh: true });
  t.equal((await api(fresh.url, 'GET', `${PARENT}/queues`)).json.queues.length, 0);
  await fresh.close();

  writeFileSync(statePath, '{"queues": oops');
  await t.rejects(startEmulator({ logger: false, statePath }), StateFileError);
  writeFileSync(statePath, '{"something": "else"}');
  await t.rejects(startEmulator({ logger: false, statePath }), { message: /not an emulator state file/ });
  t.equal(readFileSync(statePath, 'utf8'), '{"something": "else"}', 'left as it was');
});
