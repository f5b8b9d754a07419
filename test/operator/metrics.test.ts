// GET /metrics from prom-client: deliveries by outcome/queue/tier/type, job and
// delivery histograms, running jobs, dead letters pending, ledger latency.

import pino from 'pino';
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { systemClock } from '../../src/interfaces.ts';
import { builtinJobs, createRegistry } from '../../src/jobs/index.ts';
import { createMemoryLedger } from '../../src/ledger/index.ts';
import { memoryChunkStore } from '../../src/output/chunk-store.ts';
import { createOutputHub } from '../../src/output/output-hub.ts';
import { RecordingNotifier, RecordingQueue } from '../helpers/doubles.ts';

t.test('/metrics reports deliveries, durations, running jobs, dead letters and ledger latency', async (t) => {
  const config = loadConfig(
    { CHAIN: 'incoming:1,incoming-2:1', SERVICE_URL: 'http://worker.test', NOTIFY_ON: 'all', GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'l' },
    'dev',
  );
  const ledger = createMemoryLedger();
  const logger = pino({ level: 'silent' });
  const notifier = new RecordingNotifier();
  const output = createOutputHub({ store: memoryChunkStore(), ledger, clock: systemClock, logger, limitBytes: 1024 * 1024 });
  const built = buildApp(config, {
    ledger,
    queue: new RecordingQueue(),
    notifier,
    registry: createRegistry(builtinJobs({ httpAllow: [], execCommands: [] })),
    clock: systemClock,
    logger,
    output,
  });
  t.teardown(() => built.app.close());
  const push = (name: string, body: unknown, headers: Record<string, string> = {}) =>
    built.app.inject({
      method: 'POST',
      url: '/tasks',
      headers: { 'content-type': 'application/json', 'x-cloudtasks-queuename': 'incoming', 'x-cloudtasks-taskname': name, ...headers },
      payload: JSON.stringify(body),
    });
  t.equal((await push('m-ok', { type: 'echo', data: 1 }, { 'x-cloudtasks-tasketa': String((Date.now() - 2000) / 1000) })).statusCode, 200);
  t.equal((await push('m-ok-2', { type: 'echo', data: 2 })).statusCode, 200);
  t.equal((await push('m-bad', { type: 'echo', args: { fail: 'permanent' } })).statusCode, 200);
  await ledger.putDeadLetter({
    key: 'm-bad/notify/failed',
    lineageId: 'm-bad',
    kind: 'notify',
    error: { code: 'E', message: 'e', permanent: false },
    createdAt: new Date().toISOString(),
  });

  const res = await built.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain/);
  const text = res.body;
  t.match(text, /executor_deliveries_total\{outcome="succeeded",queue="incoming",tier="0",type="echo"\} 2\n/);
  t.match(text, /executor_deliveries_total\{outcome="failed",queue="incoming",tier="0",type="echo"\} 1\n/);
  t.match(text, /executor_job_duration_seconds_count\{type="echo",tier="0"\} 3\n/);
  t.match(text, /executor_delivery_duration_seconds_count\{outcome="succeeded",queue="incoming"\} 2\n/);
  t.match(text, /executor_delivery_latency_seconds_count\{queue="incoming"\} 1\n/, 'latency from the task ETA header');
  t.match(text, /executor_jobs_running 0\n/);
  t.match(text, /executor_dead_letters_pending 1\n/);
  t.match(text, /executor_ledger_operation_seconds_count\{op="begin",result="ok"\} 3\n/);
  t.match(text, /executor_ledger_operation_seconds_count\{op="finish",result="ok"\} 3\n/);
  t.equal(await built.metrics.deliveriesCount({ outcome: 'succeeded' }), 2);
});
