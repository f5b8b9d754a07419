// Cancel reaches a job on another instance: two workers share the Firestore
// emulator (as Cloud Run instances share Firestore); the cancel goes to the
// one that does not run the job, and the job's processes are gone after it.

import { readFileSync } from 'node:fs';
import pino from 'pino';
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { OperatorClient } from '../../src/client/index.ts';
import { loadConfig } from '../../src/config.ts';
import { systemClock } from '../../src/interfaces.ts';
import { builtinJobs, createRegistry } from '../../src/jobs/index.ts';
import { createFirestoreLedger } from '../../src/ledger/index.ts';
import { memoryChunkStore } from '../../src/output/chunk-store.ts';
import { createOutputHub } from '../../src/output/output-hub.ts';
import { RecordingNotifier } from '../helpers/doubles.ts';
import { startGcloudEmulator } from '../helpers/gcloud-emulator.ts';
import { until } from '../helpers/until.ts';

const PROJECT = 'cancel-test';
const emulator = await startGcloudEmulator('firestore', { project: PROJECT });
t.teardown(() => emulator.stop());
process.env.FIRESTORE_EMULATOR_HOST = emulator.host;

async function instance(t: { teardown(fn: () => unknown): void }, collectionPrefix: string) {
  const config = loadConfig({ CHAIN: 'incoming:3', JOB_TIMEOUT: '300s' }, 'dev');
  const ledger = createFirestoreLedger({ projectId: PROJECT, collectionPrefix });
  const logger = pino({ level: 'silent' });
  const output = createOutputHub({ store: memoryChunkStore(), ledger, clock: systemClock, logger, limitBytes: 1024 * 1024 });
  const registry = createRegistry(builtinJobs({ httpAllow: [], execCommands: ['sh'], onExecOutput: (o) => output.write(o.id, o.stream, o.chunk) }));
  const built = buildApp(config, { ledger, notifier: new RecordingNotifier(), registry, clock: systemClock, logger, output });
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    await built.app.close();
    await ledger.close();
  });
  const url = `http://127.0.0.1:${(built.app.server.address() as { port: number }).port}`;
  return { url, operator: new OperatorClient({ serviceUrl: url }) };
}

/** A live process (not a zombie) with this pid. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

t.test('a cancel sent to another instance aborts the job and kills its process group', async (t) => {
  const prefix = `cancel-${process.pid}`;
  const a = await instance(t, prefix);
  const b = await instance(t, prefix);
  const script = 'echo "pid $$"; sleep 300 & echo "child $!"; wait';
  const reply = fetch(`${a.url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-cloudtasks-queuename': 'incoming', 'x-cloudtasks-taskname': 'far-away' },
    body: JSON.stringify({ id: 'far-away', type: 'exec', args: { command: 'sh', args: ['-c', script] } }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as { outcome: string; error?: { code: string } } }));

  const pids = await until('the job to print its pids', async () => {
    const text = await a.operator.logs('far-away').catch(() => '');
    const shell = /pid (\d+)/.exec(text)?.[1];
    const child = /child (\d+)/.exec(text)?.[1];
    return shell && child ? [Number(shell), Number(child)] : undefined;
  });
  t.ok(pids.every(alive), 'the shell and its child run');

  const cancelled = await b.operator.cancel('far-away');
  t.equal(cancelled.state, 'cancelled');
  t.notOk(cancelled.aborted, 'the instance that took the cancel does not run the job');

  const answered = await reply;
  t.equal(answered.body.error?.code, 'Cancelled', 'the running instance aborted the job as cancelled');
  await until('the processes to be gone', () => (pids.some(alive) ? undefined : true)).catch(() => undefined);
  t.same(pids.filter(alive), [], `pids ${pids.join(', ')} are gone`);
  t.equal((await b.operator.status('far-away'))?.state, 'cancelled', 'the lineage stays cancelled');
});
