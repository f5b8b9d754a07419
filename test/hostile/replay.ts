// Replays the bad-input corpus (test/fixtures/bad-input/) against POST /tasks
// and POST /pubsub of an in-process app, for any ledger. Per case: the reply
// is 200, the lineage is recorded and ended, the record and every
// notification stay under MAX_RECORD_BYTES, a redelivery answers no 5xx.
// After all: the app is healthy and no prototype was polluted.
import pino from 'pino';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { type AttemptLedger, systemClock } from '../../src/interfaces.ts';
import { builtinJobs } from '../../src/jobs/index.ts';
import { createRegistry } from '../../src/jobs/registry.ts';
import { MAX_RECORD_BYTES } from '../../src/limits.ts';
import { type BadInputCase, caseBytes, loadCorpus } from '../fixtures/bad-input/case.ts';
import { RecordingNotifier } from '../helpers/doubles.ts';

export interface ReplayFailure {
  route: string;
  name: string;
  problem: string;
}

export interface ReplayReport {
  sent: number;
  failures: ReplayFailure[];
  outcomes: Record<string, number>;
  healthy: boolean;
  polluted: boolean;
  largestRecordBytes: number;
  largestEventBytes: number;
  /** The slowest cases, for the test's log. */
  slowest: Array<{ name: string; ms: number }>;
}

const ENDED = new Set(['succeeded', 'failed']);

export async function replayCorpus(
  ledger: AttemptLedger,
  opts: { corpus?: BadInputCase[] /** Cases in flight at once. */; concurrency?: number } = {},
): Promise<ReplayReport> {
  const corpus = opts.corpus ?? loadCorpus();
  const config = loadConfig({ CHAIN: 'incoming:3#incoming-push', NOTIFY_ON: 'all', GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'l' }, 'dev');
  const notifier = new RecordingNotifier();
  const registry = createRegistry(builtinJobs({ httpAllow: [], execCommands: [] }));
  const built = buildApp(config, { ledger, notifier, registry, clock: systemClock, logger: pino({ level: 'silent' }) });
  const report: ReplayReport = {
    sent: 0,
    failures: [],
    outcomes: {},
    healthy: false,
    polluted: false,
    largestRecordBytes: 0,
    largestEventBytes: 0,
    slowest: [],
  };
  const fail = (route: string, name: string, problem: string) => report.failures.push({ route, name, problem });
  try {
    const one = async (c: BadInputCase, i: number) => {
      const bytes = caseBytes(c.body);
      const routes = c.kind === 'task' ? ['/tasks', '/pubsub'] : ['/pubsub'];
      for (const route of routes) {
        let payload = bytes;
        const headers: Record<string, string | string[]> = { ...(c.headers ?? {}) };
        if (route === '/tasks' && i % 2 === 0 && !Object.keys(headers).some((h) => h.toLowerCase() === 'x-cloudtasks-taskname')) {
          headers['x-cloudtasks-taskname'] = `case-${i}`;
        }
        if (route === '/pubsub' && c.kind === 'task') {
          payload = Buffer.from(
            JSON.stringify({ message: { data: bytes.toString('base64'), messageId: `case-${i}` }, subscription: 'projects/p/subscriptions/incoming-push' }),
          );
        }
        const send = () => built.app.inject({ method: 'POST', url: route, headers, payload });
        report.sent++;
        const res = await send();
        if (res.statusCode !== 200) {
          fail(route, c.name, `answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
          continue;
        }
        const reply = res.json() as { id: string; outcome: string };
        report.outcomes[reply.outcome] = (report.outcomes[reply.outcome] ?? 0) + 1;
        const status = await built.app.inject({ method: 'GET', url: `/v1/tasks/${encodeURIComponent(reply.id)}` });
        if (status.statusCode !== 200) {
          fail(route, c.name, `GET /v1/tasks/${reply.id.slice(0, 40)} answered ${status.statusCode}`);
        } else {
          const record = status.json() as { state: string };
          if (!ENDED.has(record.state)) fail(route, c.name, `recorded as ${record.state}, not ended`);
          report.largestRecordBytes = Math.max(report.largestRecordBytes, Buffer.byteLength(status.body));
          if (Buffer.byteLength(status.body) > MAX_RECORD_BYTES + 4096) fail(route, c.name, `record of ${status.body.length} bytes`);
        }
        const again = await send();
        if (again.statusCode >= 500) fail(route, c.name, `redelivery answered ${again.statusCode}`);
      }
    };
    // Cases carry distinct ids, so running a few at once changes no outcome.
    let next = 0;
    const worker = async () => {
      while (next < corpus.length) {
        const i = next++;
        const started = Date.now();
        await one(corpus[i]!, i + 1);
        report.slowest.push({ name: corpus[i]!.name, ms: Date.now() - started });
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency ?? 1 }, worker));
    for (const { event } of notifier.events) {
      const bytes = Buffer.byteLength(JSON.stringify(event));
      report.largestEventBytes = Math.max(report.largestEventBytes, bytes);
      if (bytes > MAX_RECORD_BYTES) fail('notify', event.id.slice(0, 60), `event of ${bytes} bytes`);
    }
    report.slowest = report.slowest.sort((a, b) => b.ms - a.ms).slice(0, 5);
    const health = await built.app.inject({ method: 'GET', url: '/healthz' });
    const ready = await built.app.inject({ method: 'GET', url: '/readyz' });
    report.healthy = health.statusCode === 200 && ready.statusCode === 200;
    const probe: Record<string, unknown> = {};
    report.polluted = 'polluted' in probe || 'type' in probe || 'polluted' in Object.prototype;
  } finally {
    await built.app.close();
  }
  return report;
}
