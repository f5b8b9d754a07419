// End to end in dev: the emulator pushes real HTTP to the worker, the worker
// forwards and notifies through the production @google-cloud/tasks code path,
// the notifier queue pushes CloudEvents to the sink.

import { fileURLToPath } from 'node:url';
import { CloudTasksClient } from '@google-cloud/tasks';
import { PassThroughClient } from 'google-auth-library';
import pino from 'pino';
import t from 'tap';
import { DEV_SERVICE_ACCOUNT, type DevStack, startDev } from '../../src/dev.ts';
import { freePort } from '../helpers/free-port.ts';
import { until } from '../helpers/until.ts';

const JOBS = fileURLToPath(new URL('../fixtures/tier-jobs.mjs', import.meta.url));
const FAST = { minBackoff: '0.1s', maxBackoff: '0.2s', maxDoublings: 1, maxRetryDuration: '0s' };

async function stack(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}): Promise<DevStack> {
  const s = await startDev(
    {
      PORT: String(await freePort()),
      EMULATOR_PORT: String(await freePort()),
      HOST: '127.0.0.1',
      CHAIN: 'incoming:2,incoming-2:2,incoming-3:2',
      NOTIFY_ON: 'all',
      JOBS_MODULE: JOBS,
      ...env,
    },
    pino({ level: 'silent' }),
    { retry: FAST },
  );
  t.teardown(() => s.stop());
  return s;
}

function client(s: DevStack) {
  return new CloudTasksClient({ fallback: true, apiEndpoint: '127.0.0.1', port: s.emulator.port, protocol: 'http', auth: new PassThroughClient() } as never);
}

async function enqueue(s: DevStack, id: string, body: unknown, oidc = false) {
  const c = client(s);
  const parent = c.queuePath(s.config.project, s.config.location, 'incoming');
  await c.createTask({
    parent,
    task: {
      name: `${parent}/tasks/${id}`,
      httpRequest: {
        url: `${s.server.url}/tasks`,
        httpMethod: 'POST',
        body: Buffer.from(JSON.stringify(body)),
        ...(oidc ? { oidcToken: { serviceAccountEmail: DEV_SERVICE_ACCOUNT } } : {}),
      },
    },
  });
  await c.close();
}

t.test('a job failing every attempt passes every tier and ends in exactly one failed notification', async (t) => {
  const s = await stack(t);
  await enqueue(s, 'always-fails', { type: 'tiered' });
  await until('failed', () => s.sink.list({ id: 'always-fails', type: 'executor.task.failed' })[0]);
  await new Promise((r) => setTimeout(r, 300)); // a late duplicate would show up now
  const events = s.sink.list({ id: 'always-fails' });
  t.same(events.map((e) => e.type).sort(), ['executor.task.failed', 'executor.task.forwarded', 'executor.task.forwarded'], 'one forwarded per hop, one failed');
  const failed = events.find((e) => e.type === 'executor.task.failed')!;
  t.equal(failed.id, 'always-fails/failed');
  t.equal(failed.data.tier, 2);
  t.equal(failed.data.attempt, 2);
  t.equal(failed.data.queue, 'incoming-3');
  const rec = await (await fetch(`${s.server.url}/v1/tasks/always-fails`)).json();
  t.same(rec.attempts, { '0': 2, '1': 2, '2': 2 });
  t.equal(rec.state, 'failed');
});

t.test('a job succeeding on tier 2 ends in one succeeded notification', async (t) => {
  const s = await stack(t);
  await enqueue(s, 'second-tier', { type: 'tiered', args: { succeedOnTier: 1 } });
  const ok = await until('succeeded', () => s.sink.list({ id: 'second-tier', type: 'executor.task.succeeded' })[0]);
  t.equal(ok.data.tier, 1);
  t.same(ok.data.result, { tier: 1, attempt: 1 });
  await new Promise((r) => setTimeout(r, 300));
  t.same(
    s.sink
      .list({ id: 'second-tier' })
      .map((e) => e.type)
      .sort(),
    ['executor.task.forwarded', 'executor.task.succeeded'],
  );
});

t.test('with AUTH=oidc the same flow passes on the emulator tokens, and a push without a token is refused', async (t) => {
  const s = await stack(t, { AUTH: 'oidc' });
  t.equal(s.config.auth.mode, 'oidc');
  const refused = await fetch(`${s.server.url}/tasks`, { method: 'POST', body: JSON.stringify({ type: 'echo' }) });
  t.equal(refused.status, 401);
  const status = await fetch(`${s.server.url}/v1/tasks/x`);
  t.equal(status.status, 401, 'operator routes are authenticated too');
  await enqueue(s, 'with-token', { type: 'tiered', args: { succeedOnTier: 1 } }, true);
  const ok = await until('succeeded', () => s.sink.list({ id: 'with-token', type: 'executor.task.succeeded' })[0]);
  t.equal(ok.data.tier, 1, 'forwarded task and notifier task carried tokens too');
});
