// The emulator pushing to the service over real HTTP, through the official
// client: what Cloud Tasks lets a task carry reaches the job. A task whose
// header map is as large as Cloud Tasks allows (80 KB as thousands of small
// headers) and a task created with Content-Encoding: gzip and a gzipped body
// both run.
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startEmulator } from '../../src/emulator/index.ts';
import { systemClock } from '../../src/interfaces.ts';
import { builtinJobs } from '../../src/jobs/index.ts';
import { createRegistry } from '../../src/jobs/registry.ts';
import { createMemoryLedger } from '../../src/ledger/memory-ledger.ts';
import { CLOUD_TASKS_HEADER_BYTES } from '../../src/limits.ts';
import { createCloudTasksClient } from '../../src/queues/cloud-tasks-queue.ts';
import { PARENT } from '../emulator/helpers.ts';
import { RecordingNotifier } from '../helpers/doubles.ts';

const ledger = createMemoryLedger();
const built = buildApp(loadConfig({ CHAIN: 'incoming:3' }, 'dev'), {
  ledger,
  notifier: new RecordingNotifier(),
  registry: createRegistry(builtinJobs({ httpAllow: [], execCommands: [] })),
  clock: systemClock,
  logger: pino({ level: 'silent' }),
});
await built.app.listen({ port: 0, host: '127.0.0.1' });
const serviceUrl = `http://127.0.0.1:${(built.app.server.address() as { port: number }).port}/tasks`;
const emu = await startEmulator({ logger: false });
// The official client, set up for the emulator as the product sets it up (REST, no credentials).
const client = createCloudTasksClient(`127.0.0.1:${emu.port}`);
t.teardown(async () => {
  await client.close();
  await emu.close();
  await built.app.close();
  await ledger.close();
});
const queue = `${PARENT}/queues/incoming`;
await client.createQueue({ parent: PARENT, queue: { name: queue } });
/** The lineage once it has ended (real time: the emulator pushes at once), or what it is after 15 s. */
async function ended(id: string) {
  const until = Date.now() + 15_000;
  for (;;) {
    const record = await ledger.get(id);
    if ((record && (record.state === 'succeeded' || record.state === 'failed')) || Date.now() > until) return record;
    await new Promise((r) => setTimeout(r, 20));
  }
}
const envelope = (id: string) => Buffer.from(JSON.stringify({ id, type: 'echo', data: { id } }));

t.test('a task with 80 KB of small headers (the most Cloud Tasks accepts) is pushed and runs', async (t) => {
  const headers: Record<string, string> = {};
  let counted = 0;
  for (let i = 0; counted + 5 < CLOUD_TASKS_HEADER_BYTES - 64; i++) {
    const name = `x${i.toString(36).padStart(3, '0')}`;
    headers[name] = 'v';
    counted += name.length + 1;
  }
  await client.createTask({
    parent: queue,
    task: { name: `${queue}/tasks/many-headers`, httpRequest: { url: serviceUrl, body: envelope('many-headers'), headers } },
  });
  t.match(await ended('many-headers'), { state: 'succeeded' }, `${Object.keys(headers).length} headers`);
  await t.rejects(
    client.createTask({ parent: queue, task: { httpRequest: { url: serviceUrl, body: envelope('x'), headers: { ...headers, big: 'b'.repeat(1024) } } } }),
    { code: 3 },
    'one more KB is refused at creation, as Cloud Tasks does',
  );
});

t.test('a task created with Content-Encoding: gzip and a gzipped body runs its job', async (t) => {
  await client.createTask({
    parent: queue,
    task: {
      name: `${queue}/tasks/gzipped`,
      httpRequest: { url: serviceUrl, body: gzipSync(envelope('gzipped')), headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'application/json' } },
    },
  });
  t.match(await ended('gzipped'), { state: 'succeeded' });
});
