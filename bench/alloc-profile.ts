// node --expose-gc bench/alloc-profile.ts [deliver|inject]: what one push of the
// bench's echo task allocates, in process (no HTTP for `deliver`; light-my-request
// for `inject`): heap growth over 2,000 deliveries with no GC between, what they
// retain after a full GC, and V8's sampling heap profiler (garbage included) by
// function, with the builtins (Object.keys, Map, delete...) by their caller.
// Allocation drives the scavenges that PROFILE.md round 3 counts against a push.
import { createWriteStream } from 'node:fs';
import pino from 'pino';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { parsePushHeaders } from '../src/delivery/push-headers.ts';
import { createDeps } from '../src/server.ts';
import { SERVE_ENV } from './lib/common.ts';

const config = loadConfig(SERVE_ENV, 'serve');
const logger = pino({ level: 'info' }, createWriteStream('/dev/null'));
const deps = await createDeps(config, logger);
const built = buildApp(config, deps);
await built.app.ready();
const body = Buffer.from(JSON.stringify({ type: 'echo', data: { hello: 'world', n: 42 } }));
let seq = 0;
const mode = process.argv[2] ?? 'deliver';
const one = () =>
  mode === 'deliver'
    ? built.delivery.deliver({ body, push: parsePushHeaders({ 'x-cloudtasks-queuename': 'incoming', 'x-cloudtasks-taskname': `t-${seq++}` }), logFields: {} })
    : built.app.inject({
        method: 'POST',
        url: '/tasks',
        payload: body,
        headers: { 'x-cloudtasks-queuename': 'incoming', 'x-cloudtasks-taskname': `t-${seq++}` },
      });
for (let i = 0; i < 2000; i++) await one();
(globalThis as { gc?: () => void }).gc?.();

import { Session } from 'node:inspector/promises';

const session = new Session();
session.connect();
await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const N = 2000;
const h0 = process.memoryUsage().heapUsed;
for (let i = 0; i < N; i++) await one();
const h1 = process.memoryUsage().heapUsed;
(globalThis as { gc?: () => void }).gc?.();
const h2 = process.memoryUsage().heapUsed;
console.log(`${mode}: allocated ~${((h1 - h0) / N / 1024).toFixed(1)} KiB per delivery (no GC in between), retained ${((h2 - h0) / N).toFixed(0)} B`);
const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: Node } };
interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: Node[];
}
const by = new Map<string, number>();
let total = 0;
const parents = new Map<string, number>();
const walk = (n: Node, parent = '') => {
  const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*\/(node_modules\/)?/, '')}:${n.callFrame.lineNumber + 1}`;
  by.set(k, (by.get(k) ?? 0) + n.selfSize);
  if (n.callFrame.url === '') parents.set(`${k} <- ${parent}`, (parents.get(`${k} <- ${parent}`) ?? 0) + n.selfSize);
  total += n.selfSize;
  for (const c of n.children) walk(c, k);
};
walk(profile.head);
console.log(`sampled ${(total / N / 1024).toFixed(1)} KiB per delivery`);
for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${(v / N).toFixed(0).padStart(6)} B  ${k}`);
for (const [k, v] of [...parents].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${(v / N).toFixed(0).padStart(6)} B  ${k}`);
process.exit(0);
