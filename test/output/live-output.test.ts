// Live output from two app instances that share a ledger and a blob folder,
// as two Cloud Run instances share Firestore and a bucket: the instance
// running the job and the other one both stream its output while it runs.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { createLocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { OperatorClient, type OutputEvent } from '../../src/client/index.ts';
import { loadConfig } from '../../src/config.ts';
import { type AttemptLedger, systemClock } from '../../src/interfaces.ts';
import { builtinJobs, createRegistry, defineJob } from '../../src/jobs/index.ts';
import { createMemoryLedger } from '../../src/ledger/index.ts';
import { blobRefOf } from '../../src/output/blob-ref.ts';
import { blobChunkStore } from '../../src/output/chunk-store.ts';
import { createOutputHub } from '../../src/output/output-hub.ts';
import { RecordingNotifier } from '../helpers/doubles.ts';
import { until } from '../helpers/until.ts';

const progressJob = defineJob({
  type: 'progress',
  async run(_args, _data, ctx) {
    ctx.setStatus('halfway there');
    ctx.log.info({ step: 1 }, 'working');
    await new Promise((r) => setTimeout(r, 2500));
    ctx.log.warn('almost done');
    return { ok: true };
  },
});

async function instance(t: { teardown(fn: () => unknown): void }, ledger: AttemptLedger, dir: string, limitBytes = 10 * 1024 * 1024) {
  const config = loadConfig({ CHAIN: 'incoming:1', BLOB_DIR: dir, JOB_TIMEOUT: '120s' }, 'dev');
  const blobs = createLocalBlobStore({ dir });
  const logger = pino({ level: 'silent' });
  const output = createOutputHub({ store: blobChunkStore(blobs, blobRefOf(config)), ledger, clock: systemClock, logger, limitBytes });
  const registry = createRegistry([
    ...builtinJobs({ httpAllow: [], execCommands: ['sh'], onExecOutput: (o) => output.write(o.id, o.stream, o.chunk) }),
    progressJob,
  ]);
  const built = buildApp(config, { ledger, notifier: new RecordingNotifier(), blobs, registry, clock: systemClock, logger, output });
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => built.app.close());
  const port = (built.app.server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    operator: new OperatorClient({ serviceUrl: url }),
    push: (id: string, body: unknown) =>
      fetch(`${url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-cloudtasks-queuename': 'incoming', 'x-cloudtasks-taskname': id },
        body: JSON.stringify({ id, ...(body as object) }),
      }).then(async (r) => ({ status: r.status, at: Date.now() })),
  };
}

function setup(t: { teardown(fn: () => unknown): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'executor-output-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, ledger: createMemoryLedger() };
}

/** Follow and note when each output line arrived. */
function follow(op: OperatorClient, id: string) {
  const lines: Array<{ line: string; at: number }> = [];
  const events: OutputEvent[] = [];
  let partial = '';
  const done = op.followLogs(id, (e) => {
    events.push(e);
    if (e.event !== 'output') return;
    partial += e.data.text;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) lines.push({ line, at: Date.now() });
  });
  return { lines, events, done };
}

t.test('exec output streams while the job runs, from the running instance and from another one', async (t) => {
  const { dir, ledger } = setup(t);
  const a = await instance(t, ledger, dir);
  const b = await instance(t, ledger, dir);
  const script = 'for i in $(seq 1 20); do echo "line $i"; sleep 0.2; done';
  const pushed = a.push('live-1', { type: 'exec', args: { command: 'sh', args: ['-c', script] } });
  await until('the run to begin', async () => ((await ledger.get('live-1'))?.state === 'running' ? true : undefined));
  const onA = follow(a.operator, 'live-1');
  const onB = follow(b.operator, 'live-1');
  const finished = await pushed;
  t.equal(finished.status, 200, 'the job succeeded');
  t.equal(await onA.done, 'succeeded', 'the stream ends with the final state');
  t.equal(await onB.done, 'succeeded');
  const expected = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
  t.same(
    onA.lines.map((l) => l.line).filter((l) => !l.startsWith('---')),
    expected,
    'the running instance sent every line, in order',
  );
  t.same(
    onB.lines.map((l) => l.line).filter((l) => !l.startsWith('---')),
    expected,
    'the other instance sent every line, in order',
  );
  t.ok(onA.lines[0]!.at < finished.at, 'the first line reached the running instance’s follower before the job ended');
  t.ok(onB.lines[0]!.at < finished.at, 'the first line reached the other instance’s follower before the job ended');
  t.match(onB.events[0], { event: 'attempt', data: { tier: 0, attempt: 1, queue: 'incoming' } });
  const text = await b.operator.logs('live-1');
  t.equal(text, `--- incoming attempt 1 (tier 0) ---\n${expected.join('\n')}\n`, 'without follow: the whole output as text');
});

t.test('a 5 MiB output is kept whole and read from another instance', async (t) => {
  const { dir, ledger } = setup(t);
  const a = await instance(t, ledger, dir);
  const b = await instance(t, ledger, dir);
  const size = 5 * 1024 * 1024;
  const res = await a.push('big-out', { type: 'exec', args: { command: 'sh', args: ['-c', `yes 0123456789abcdef | head -c ${size}`] } });
  t.equal(res.status, 200);
  const text = await b.operator.logs('big-out');
  // The text view ends every attempt with a newline: the last one is added.
  const body = text.slice(text.indexOf('\n') + 1, -1);
  t.equal(Buffer.byteLength(body), size, 'every byte');
  const lines = body.split('\n');
  t.ok(lines.slice(0, -1).every((l) => l === '0123456789abcdef') && '0123456789abcdef'.startsWith(lines.at(-1)!), 'and the bytes are right');
});

t.test('past OUTPUT_LIMIT the output is truncated with a marker', async (t) => {
  const { dir, ledger } = setup(t);
  const a = await instance(t, ledger, dir, 64 * 1024);
  const res = await a.push('too-much', { type: 'exec', args: { command: 'sh', args: ['-c', 'yes | head -c 200000'] } });
  t.equal(res.status, 200);
  const text = await a.operator.logs('too-much');
  t.match(text, /\[output truncated: OUTPUT_LIMIT of 65536 bytes reached\]\n$/);
  t.ok(Buffer.byteLength(text) < 64 * 1024 + 200, 'no more than the limit is kept');
});

t.test('ctx.log lines and setStatus text show in the output, the record and the stream', async (t) => {
  const { dir, ledger } = setup(t);
  const a = await instance(t, ledger, dir);
  const b = await instance(t, ledger, dir);
  const pushed = a.push('prog-1', { type: 'progress' });
  const status = await until('statusText', async () => (await b.operator.status('prog-1'))?.statusText);
  t.equal(status, 'halfway there', 'the other instance sees the status text while the job runs');
  t.equal((await b.operator.list()).tasks[0]?.statusText, 'halfway there', 'and so does the list');
  const stream = follow(b.operator, 'prog-1');
  t.equal((await pushed).status, 200);
  await stream.done;
  t.ok(
    stream.events.some((e) => e.event === 'status' && e.data.statusText === 'halfway there'),
    'the stream carries the status text',
  );
  const text = await b.operator.logs('prog-1');
  t.match(text, /INFO working \{"step":1\}\nWARN almost done\n/);
});

t.test('output of an unknown lineage is a 404', async (t) => {
  const { dir, ledger } = setup(t);
  const a = await instance(t, ledger, dir);
  const res = await fetch(`${a.url}/v1/tasks/nobody/output`);
  t.equal(res.status, 404);
  const sse = await fetch(`${a.url}/v1/tasks/nobody/output?follow=1`);
  t.equal(sse.status, 404);
});

t.test('a lineage id used again (a fresh ledger, the same blob folder) does not show the earlier run’s output', async (t) => {
  const { dir, ledger } = setup(t);
  const first = await instance(t, ledger, dir);
  // Over 16 KiB: several chunks, more than the later run writes.
  t.equal((await first.push('reused', { type: 'exec', args: { command: 'sh', args: ['-c', 'yes earlier | head -c 100000'] } })).status, 200);
  const second = await instance(t, createMemoryLedger(), dir);
  t.equal((await second.push('reused', { type: 'exec', args: { command: 'sh', args: ['-c', 'echo later'] } })).status, 200);
  t.equal(await second.operator.logs('reused'), '--- incoming attempt 1 (tier 0) ---\nlater\n');
});
