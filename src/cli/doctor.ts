// `executor doctor`: checks what a wrong deployment gets wrong (CLOUD-TASKS.md,
// "What others got wrong"): every CHAIN queue exists with the CHAIN's
// maxAttempts and no maxRetryDuration that could end it first, the notifier
// queue and topic exist, and the timeouts line up:
//   JOB_TIMEOUT < dispatchDeadline <= REQUEST_TIMEOUT (the platform's).
// One line per check (OK / WARN / FAIL, then what to fix); exit 1 on any FAIL.

import { dispatchDeadlineFor } from '../app.ts';
import { emulatorClientOptions } from '../auth/google-credentials.ts';
import type { Config } from '../config.ts';
import type { TaskQueue, Tier } from '../interfaces.ts';
import { DEFAULT_MAX_RECORDS } from '../ledger/memory-ledger.ts';
import { createCloudTasksQueue } from '../queues/cloud-tasks-queue.ts';
import { cliConfig, requireQueueLocation } from './cli-context.ts';
import type { Command } from './command.ts';
import { UsageError } from './command.ts';

type Level = 'OK' | 'WARN' | 'FAIL';
interface Check {
  level: Level;
  what: string;
  fix?: string;
}

const EXTERNAL_TIMEOUT_MS = 15_000;

export const doctorCommand: Command = async (argv, io) => {
  if (argv.length) throw new UsageError(`doctor takes no arguments, got "${argv.join(' ')}"`);
  const config = cliConfig(io.env);
  const { project, location } = requireQueueLocation(config);
  const queue = createCloudTasksQueue({
    project,
    location,
    ...(config.cloudTasksEmulatorHost ? { emulatorHost: config.cloudTasksEmulatorHost } : {}),
  });
  const checks: Check[] = [];
  try {
    const where = `projects/${project}/locations/${location}`;
    checks.push({ level: 'OK', what: `config: ${where}, CHAIN ${config.chain.map((t) => `${t.queue}:${t.maxAttempts ?? 'unlimited'}`).join(' -> ')}` });
    for (const tier of config.chain) checks.push(...(await checkTierQueue(queue, tier, config)));
    if (config.notify.queue) checks.push(await checkNotifyQueue(queue, config.notify.queue, config));
    if (config.notify.topic) checks.push(await checkTopic(config.notify.topic, config.project));
    checks.push(...checkTimeouts(config));
    checks.push(...checkLedger(config));
    if (config.serviceUrl) {
      checks.push(await checkService(config.serviceUrl));
      checks.push(await checkPushRoute(config.serviceUrl));
    } else
      checks.push({
        level: 'WARN',
        what: 'SERVICE_URL is not set: enqueue, status, cancel and forwarding need the service URL',
        fix: 'export SERVICE_URL=https://<your service>',
      });
    if (config.notify.url) checks.push(await checkNotifyUrl(config.notify.url));
  } finally {
    await queue.close();
  }
  for (const c of checks) {
    io.out(`${c.level.padEnd(4)}  ${c.what}`);
    if (c.fix && c.level !== 'OK') io.out(`      fix: ${c.fix}`);
  }
  const fails = checks.filter((c) => c.level === 'FAIL').length;
  const warns = checks.filter((c) => c.level === 'WARN').length;
  io.out(fails ? `doctor: ${fails} problem(s), ${warns} warning(s)` : `doctor: all good${warns ? ` (${warns} warning(s))` : ''}`);
  return fails ? 1 : 0;
};

/**
 * LEDGER=memory: whether more than one instance serves cannot be seen from
 * here, so the limits are stated (README "Reliability").
 */
export function checkLedger(config: Config): Check[] {
  if (config.ledger.kind !== 'memory') return [{ level: 'OK', what: `ledger: firestore (collections ${config.ledger.collectionPrefix}-*)` }];
  const days = Math.round((config.ledger.ttlMs / 86_400_000) * 10) / 10;
  return [
    {
      level: 'WARN',
      what:
        `ledger: LEDGER=memory counts attempts in one process: lost on restart, not shared between instances, ` +
        `and at most ${DEFAULT_MAX_RECORDS.toLocaleString('en')} lineages per LEDGER_TTL (${days}d); past that, finished lineages are evicted early and a redelivery runs the job again`,
      fix: 'LEDGER=firestore for production; with LEDGER=memory, deploy with --max-instances=1',
    },
  ];
}

function gcloudQueue(verb: 'create' | 'update', name: string, config: Config, flags: string): string {
  return `gcloud tasks queues ${verb} ${name} --project=${config.project} --location=${config.location} ${flags}`.trim();
}

async function getQueue(queue: TaskQueue, name: string) {
  try {
    return { info: await queue.getQueue(name) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

async function checkTierQueue(queue: TaskQueue, tier: Tier, config: Config): Promise<Check[]> {
  const want = tier.maxAttempts ?? -1;
  const wantText = tier.maxAttempts === null ? 'unlimited (-1)' : String(want);
  const label = `queue ${tier.queue} (tier ${tier.index})`;
  const got = await getQueue(queue, tier.queue);
  if ('error' in got)
    return [
      { level: 'FAIL', what: `${label}: cannot read it: ${got.error}`, fix: 'check credentials (roles/cloudtasks.viewer), GOOGLE_CLOUD_PROJECT and LOCATION' },
    ];
  const info = got.info;
  if (!info) {
    return [
      {
        level: 'FAIL',
        what: `${label}: does not exist`,
        fix: gcloudQueue('create', tier.queue, config, '--max-attempts=-1 --max-retry-duration=0s'),
      },
    ];
  }
  const out: Check[] = [];
  // The executor decides a tier's end by its own count (CHAIN). The queue needs
  // at least that many attempts, and better more: a final push that cannot reach
  // the worker (down, deploying, network) uses up an attempt, and Cloud Tasks
  // deletes a task whose attempts are used up without telling anyone.
  const queueText = info.maxAttempts === -1 ? 'unlimited (-1)' : String(info.maxAttempts);
  if (info.maxAttempts === -1) {
    out.push({
      level: 'OK',
      what: `${label}: exists, maxAttempts unlimited: CHAIN (${wantText}) decides, and a push that cannot reach the worker is retried until it does`,
    });
  } else if (want === -1 || info.maxAttempts < want) {
    out.push({
      level: 'FAIL',
      what: `${label}: maxAttempts is ${queueText}, CHAIN says ${wantText}: Cloud Tasks would delete the task before the service counts its final attempt, so it is never forwarded nor notified`,
      fix: `${gcloudQueue('update', tier.queue, config, '--max-attempts=-1')}  (or lower CHAIN)`,
    });
  } else if (info.maxAttempts === want) {
    out.push({
      level: 'WARN',
      what: `${label}: maxAttempts ${queueText} equals CHAIN, with no headroom: if the final push cannot reach the worker (an outage, a deploy), Cloud Tasks deletes the task unseen`,
      fix: gcloudQueue('update', tier.queue, config, '--max-attempts=-1'),
    });
  } else {
    out.push({ level: 'OK', what: `${label}: exists, maxAttempts ${queueText} >= CHAIN ${wantText} (headroom for pushes that never reach the worker)` });
  }
  if (info.maxRetryDurationSeconds > 0) {
    out.push({
      level: tier.maxAttempts === null ? 'FAIL' : 'WARN',
      what:
        `${label}: maxRetryDuration is ${info.maxRetryDurationSeconds}s. The service decides a tier's final attempt by counting ` +
        'attempts alone; Cloud Tasks stops when maxAttempts and maxRetryDuration are both reached (the v2 API reference), though ' +
        'some of its guides describe a time limit that ends retries on its own' +
        (tier.maxAttempts === null
          ? '. With unlimited attempts the duration is the only limit: the task is deleted without the service ever seeing a final attempt (no failed notification, no dead letter)'
          : '. Where the duration ends the tier first, the task is deleted before its final attempt: never forwarded, never notified. 0s (no limit) is the safe value'),
      fix: gcloudQueue('update', tier.queue, config, '--max-retry-duration=0s'),
    });
  }
  if (info.state === 'PAUSED')
    out.push({ level: 'WARN', what: `${label}: is PAUSED; its tasks wait`, fix: `gcloud tasks queues resume ${tier.queue} --location=${config.location}` });
  if (info.state === 'DISABLED')
    out.push({
      level: 'FAIL',
      what: `${label}: is DISABLED; tasks cannot be created or run`,
      fix: `gcloud tasks queues resume ${tier.queue} --location=${config.location}`,
    });
  return out;
}

async function checkNotifyQueue(queue: TaskQueue, name: string, config: Config): Promise<Check> {
  const got = await getQueue(queue, name);
  if ('error' in got) return { level: 'FAIL', what: `notifier queue ${name}: cannot read it: ${got.error}` };
  if (!got.info) {
    return {
      level: 'FAIL',
      what: `notifier queue ${name} (NOTIFY_QUEUE): does not exist; notifications would become dead letters`,
      fix: `${gcloudQueue('create', name, config, '')}  (or NOTIFY_QUEUE= to turn it off)`,
    };
  }
  return { level: 'OK', what: `notifier queue ${name}: exists (maxAttempts ${got.info.maxAttempts})` };
}

async function checkTopic(topic: string, project: string): Promise<Check> {
  const { PubSub } = await import('@google-cloud/pubsub');
  const pubsub = new PubSub({ ...(project ? { projectId: project } : {}), ...emulatorClientOptions('PUBSUB_EMULATOR_HOST') });
  try {
    const [exists] = await withTimeout(pubsub.topic(topic).exists(), EXTERNAL_TIMEOUT_MS, 'Pub/Sub did not answer');
    if (exists) return { level: 'OK', what: `notify topic ${topic}: exists` };
    const short = topic.split('/').pop();
    return {
      level: 'FAIL',
      what: `notify topic ${topic} (NOTIFY_TOPIC): does not exist`,
      fix: `gcloud pubsub topics create ${short} --project=${topic.split('/')[1]}`,
    };
  } catch (err) {
    return {
      level: 'FAIL',
      what: `notify topic ${topic}: cannot check it: ${(err as Error).message}`,
      fix: 'check credentials (roles/pubsub.viewer) or PUBSUB_EMULATOR_HOST',
    };
  } finally {
    await pubsub.close().catch(() => {});
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

/** Exported for tests: the timeout line-up alone. */
export function checkTimeouts(config: Pick<Config, 'jobTimeoutMs' | 'requestTimeoutMs'>): Check[] {
  const job = config.jobTimeoutMs;
  const deadlineMs = dispatchDeadlineFor(job) * 1000;
  const request = config.requestTimeoutMs;
  const line = `JOB_TIMEOUT ${seconds(job)} < dispatchDeadline ${seconds(deadlineMs)} <= REQUEST_TIMEOUT ${seconds(request)}`;
  const problems: string[] = [];
  const fixes: string[] = [];
  if (job >= deadlineMs) {
    problems.push('the job may run past the dispatch deadline: Cloud Tasks counts the attempt failed and retries while it still runs (overlapping runs)');
    fixes.push('lower JOB_TIMEOUT below 30m');
  }
  if (deadlineMs > request) {
    problems.push(
      job >= request
        ? 'JOB_TIMEOUT is not below REQUEST_TIMEOUT: the platform cuts the request while the job still runs, Cloud Tasks sees a failure and retries (overlapping runs)'
        : 'the platform request timeout is shorter than the dispatch deadline: a slow attempt is cut by the platform (5xx) instead of ending with the job timeout',
    );
    const maxJob = Math.max(1, Math.floor(request / 1000) - 30);
    fixes.push(`raise REQUEST_TIMEOUT (and Cloud Run --timeout) to >= ${dispatchDeadlineFor(job)}s, or lower JOB_TIMEOUT to <= ${maxJob}s`);
  }
  if (problems.length === 0) return [{ level: 'OK', what: `timeouts: ${line}` }];
  return [{ level: 'FAIL', what: `timeouts: ${line} does not hold: ${problems.join('; ')}`, fix: fixes.join('; ') }];
}

async function checkService(serviceUrl: string): Promise<Check> {
  const url = `${serviceUrl.replace(/\/+$/, '')}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    // 401/403 still prove the service answers (operator routes may need a token).
    if (res.ok || res.status === 401 || res.status === 403) return { level: 'OK', what: `service ${serviceUrl}: answers (${res.status} on /healthz)` };
    return { level: 'WARN', what: `service ${serviceUrl}: /healthz answered ${res.status}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return { level: 'WARN', what: `service ${serviceUrl}: not reachable (${cause})`, fix: 'check SERVICE_URL, or that the service is deployed and running' };
  }
}

/** SERVICE_URL/tasks must be this service's push route, or every forward 404s for ever. */
async function checkPushRoute(serviceUrl: string): Promise<Check> {
  const url = `${serviceUrl}/tasks`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    // 405 (POST only) or 401/403 (the route is behind OIDC): the route is there.
    if (res.status === 405 || res.status === 401 || res.status === 403) return { level: 'OK', what: `push route ${url}: answers (${res.status})` };
    return {
      level: 'FAIL',
      what: `push route ${url}: answered ${res.status}, not this service's push route; forwards would fail for ever`,
      fix: 'set SERVICE_URL to the service base URL (https://<service>), without a path',
    };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return { level: 'WARN', what: `push route ${url}: not reachable (${cause})`, fix: 'check SERVICE_URL, or that the service is deployed and running' };
  }
}

/** NOTIFY_URL must answer something, or every notification is retried by the notifier queue for ever. */
async function checkNotifyUrl(notifyUrl: string): Promise<Check> {
  try {
    const res = await fetch(notifyUrl, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    if (res.status === 404)
      return { level: 'WARN', what: `NOTIFY_URL ${notifyUrl}: answered 404; notifications pushed there would be retried`, fix: 'check the callback path' };
    return { level: 'OK', what: `NOTIFY_URL ${notifyUrl}: answers (${res.status} on HEAD)` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return { level: 'WARN', what: `NOTIFY_URL ${notifyUrl}: not reachable (${cause})`, fix: 'check NOTIFY_URL, or that the receiver is running' };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
