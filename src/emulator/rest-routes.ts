// The Cloud Tasks v2 REST surface. One wildcard route per method, matched here
// by pattern, because resource paths carry ":verb" suffixes (queues/q:pause)
// that Fastify's router would read as parameters.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { API_VERSIONS, type ApiVersion, readMessage, snakeToCamel } from './api-schema.ts';
import type { CloudTasksService } from './cloud-tasks-service.ts';
import { GoogleApiError, invalidArgument, notFound } from './google-error.ts';
import { parseUpdateMask, queueBodyToV2, queueToJson } from './queue-model.ts';
import type { QueueRuntime } from './queue-runtime.ts';
import { locationPath } from './resource-names.ts';
import { type TaskRecord, taskToJson } from './task-model.ts';
import { formatTimestamp, page, type View, viewEnum } from './wire.ts';

const MAX_TASK_PAGE = 1000;
const MAX_QUEUE_PAGE = 9800;

type Query = Record<string, string | undefined>;
type Body = Record<string, unknown>;

interface Ctx {
  m: RegExpExecArray;
  query: Query;
  /** The raw JSON body; handlers read it through `read` (strict, camelCase). */
  raw: unknown;
  version: ApiVersion;
  /** The Node client asks for numeric enums ($alt=json;enum-encoding=int); gcloud for names. */
  asInt: boolean;
  /** The body as message `message`, bound to request field `root` ('' = the whole request). */
  read(message: string, root?: string): Body;
}

type Handler = (ctx: Ctx) => unknown;

const SEG = '([^/:]+)';
const LOC = `projects/${SEG}/locations/${SEG}`;
const QUEUE = `${LOC}/queues/${SEG}`;
const TASK = `${QUEUE}/tasks/${SEG}`;

function view(value: unknown): View {
  const v = viewEnum.parse(value === '' ? undefined : value, 'response_view');
  return v === 'FULL' ? 'FULL' : 'BASIC';
}

/** v2beta3's QueueStats, asked for with readMask=stats. */
function statsOf(q: QueueRuntime): Record<string, unknown> {
  let oldest: number | undefined;
  for (const t of q.tasks.values()) if (oldest === undefined || t.scheduleTime < oldest) oldest = t.scheduleTime;
  return {
    tasksCount: String(q.tasks.size),
    ...(oldest !== undefined ? { oldestEstimatedArrivalTime: formatTimestamp(oldest) } : {}),
    concurrentDispatchesCount: String(q.inFlight),
  };
}

export function restRoutes(app: FastifyInstance, svc: CloudTasksService): void {
  const queueName = (m: RegExpExecArray) => `${locationPath(m[1]!, m[2]!)}/queues/${m[3]}`;
  const queueJson = (c: Ctx, q: QueueRuntime) =>
    queueToJson(q.config, c.asInt, c.version, c.version === 'v2beta3' && /\bstats\b/.test(c.query.readMask ?? '') ? statsOf(q) : undefined);
  const taskJson = (c: Ctx, t: TaskRecord, v: View) => taskToJson(t, v, c.asInt, c.version, svc.queue(queueName(c.m)).config);
  const sameQueue = (c: Ctx) => svc.queue(queueName(c.m));

  const routes: Array<[method: string, pattern: RegExp, handler: Handler]> = [
    ['GET', re(`projects/${SEG}/locations`), ({ m }) => ({ locations: svc.locations(m[1]!).map((l) => ({ name: locationPath(m[1]!, l), locationId: l })) })],
    ['GET', re(LOC), ({ m }) => ({ name: locationPath(m[1]!, m[2]!), locationId: m[2] })],
    ['GET', re(`${LOC}/cmekConfig`), ({ m }) => svc.cmekConfig(locationPath(m[1]!, m[2]!))],
    ['PATCH', re(`${LOC}/cmekConfig`), (c) => svc.updateCmekConfig(locationPath(c.m[1]!, c.m[2]!), c.read('CmekConfig', 'cmek_config'))],
    [
      'GET',
      re(`${LOC}/queues`),
      (c) => {
        const all = svc.listQueues(locationPath(c.m[1]!, c.m[2]!)).map((q) => svc.queue(q.name));
        const p = page(all, c.query.pageSize, c.query.pageToken, MAX_QUEUE_PAGE);
        return { queues: p.items.map((q) => queueJson(c, q)), ...(p.nextPageToken ? { nextPageToken: p.nextPageToken } : {}) };
      },
    ],
    [
      'POST',
      re(`${LOC}/queues`),
      (c) => {
        const config = svc.createQueue(locationPath(c.m[1]!, c.m[2]!), queueBodyToV2(c.version, c.read('Queue', 'queue')));
        return queueJson(c, svc.queue(config.name));
      },
    ],
    ['GET', re(QUEUE), (c) => queueJson(c, sameQueue(c))],
    [
      'PATCH',
      re(QUEUE),
      (c) => {
        svc.updateQueue(queueName(c.m), queueBodyToV2(c.version, c.read('Queue', 'queue')), parseUpdateMask(c.query.updateMask, c.version));
        return queueJson(c, sameQueue(c));
      },
    ],
    ['DELETE', re(QUEUE), ({ m }) => (svc.deleteQueue(queueName(m)), {})],
    ['POST', re(`${QUEUE}:pause`), (c) => (c.read('NameRequest'), svc.setQueueState(queueName(c.m), 'PAUSED'), queueJson(c, sameQueue(c)))],
    ['POST', re(`${QUEUE}:resume`), (c) => (c.read('NameRequest'), svc.setQueueState(queueName(c.m), 'RUNNING'), queueJson(c, sameQueue(c)))],
    ['POST', re(`${QUEUE}:purge`), (c) => (c.read('NameRequest'), svc.purgeQueue(queueName(c.m)), queueJson(c, sameQueue(c)))],
    ['POST', re(`${QUEUE}:getIamPolicy`), (c) => (c.read('GetIamPolicyRequest'), svc.getIamPolicy(queueName(c.m)))],
    ['POST', re(`${QUEUE}:setIamPolicy`), (c) => svc.setIamPolicy(queueName(c.m), c.read('SetIamPolicyRequest').policy as Body | undefined)],
    [
      'POST',
      re(`${QUEUE}:testIamPermissions`),
      (c) => {
        const held = svc.testIamPermissions(queueName(c.m), c.read('TestIamPermissionsRequest').permissions);
        return held.length > 0 ? { permissions: held } : {};
      },
    ],
    [
      'GET',
      re(`${QUEUE}/tasks`),
      (c) => {
        const v = view(c.query.responseView);
        const p = page(svc.listTasks(queueName(c.m)), c.query.pageSize, c.query.pageToken, MAX_TASK_PAGE);
        return { tasks: p.items.map((t) => taskJson(c, t, v)), ...(p.nextPageToken ? { nextPageToken: p.nextPageToken } : {}) };
      },
    ],
    [
      'POST',
      re(`${QUEUE}/tasks`),
      (c) => {
        const body = c.read('CreateTaskRequest');
        return taskJson(c, svc.createTask(queueName(c.m), body.task), view(body.responseView));
      },
    ],
    // gcloud sends an empty task id as ".../tasks/:buffer".
    [
      'POST',
      re(`${QUEUE}/tasks/?:buffer`),
      (c) => ({ task: taskJson(c, svc.bufferTask(queueName(c.m), undefined, c.read('BufferTaskRequest').body as Body), 'BASIC') }),
    ],
    ['POST', re(`${TASK}:buffer`), (c) => ({ task: taskJson(c, svc.bufferTask(queueName(c.m), c.m[4], c.read('BufferTaskRequest').body as Body), 'BASIC') })],
    ['GET', re(TASK), (c) => taskJson(c, svc.task(queueName(c.m), c.m[4]!).t, view(c.query.responseView))],
    ['DELETE', re(TASK), ({ m }) => (svc.deleteTask(queueName(m), m[4]!), {})],
    [
      'POST',
      re(`${TASK}:run`),
      (c) => {
        const body = c.read('RunTaskRequest');
        return taskJson(c, svc.runTask(queueName(c.m), c.m[4]!), view(body.responseView));
      },
    ],
  ];

  // The Node client's location mixin asks /v1/projects/*/locations whatever the API version.
  const mounts: Array<[prefix: string, version: ApiVersion, table: typeof routes]> = [
    ...API_VERSIONS.map((v) => [v, v, routes] as [string, ApiVersion, typeof routes]),
    ['v1', 'v2', routes.slice(0, 2)],
  ];
  for (const [prefix, version, table] of mounts) {
    app.route({
      method: ['GET', 'POST', 'PATCH', 'DELETE'],
      url: `/${prefix}/*`,
      handler: async (req: FastifyRequest, reply) => {
        const path = (req.params as { '*': string })['*'];
        // Query parameters, like body fields, may use the proto (snake_case) names.
        const query: Query = {};
        for (const [k, v] of Object.entries(req.query as Query)) query[k.startsWith('$') ? k : snakeToCamel(k)] ??= v;
        const alt = `${query.$alt ?? ''};${query.alt ?? ''}`;
        const raw = req.body ?? {};
        for (const [method, pattern, handler] of table) {
          if (method !== req.method) continue;
          const m = pattern.exec(path);
          if (m) {
            const read = (message: string, root = '') => readMessage(version, message, raw, root);
            return reply.send(handler({ m, query, raw, version, asInt: alt.includes('enum-encoding=int'), read }));
          }
        }
        throw notFound(`Method not found: ${req.method} /${prefix}/${path}`);
      },
    });
  }
}

function re(pattern: string): RegExp {
  return new RegExp(`^${pattern}$`);
}

/** Every error leaves in Google's JSON error shape. */
export function googleErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    let g: GoogleApiError;
    if (err instanceof GoogleApiError) g = err;
    else if ((err as { statusCode?: number }).statusCode === 400 || err instanceof SyntaxError)
      g = invalidArgument(`Invalid JSON payload received. ${(err as Error).message}`);
    else if ((err as { statusCode?: number }).statusCode === 413) g = invalidArgument('Request payload too large.');
    else {
      req.log.error({ err }, 'emulator request failed');
      g = new GoogleApiError('INTERNAL', 'Internal error encountered.');
    }
    return reply.code(g.httpCode).type('application/json; charset=UTF-8').send(g.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    // gcloud alpha tasks speaks v2beta2 (pull-queue leases); say so rather than only "not found".
    const why = path.startsWith('/v2beta2/')
      ? ' This emulator serves Cloud Tasks v2 and v2beta3 (gcloud tasks, gcloud beta tasks), not v2beta2 (gcloud alpha tasks: lease, acknowledge, renew-lease, cancel-lease).'
      : '';
    const g = notFound(`The requested URL ${path} was not found on this server.${why}`);
    return reply.code(404).type('application/json; charset=UTF-8').send(g.toJSON());
  });
}
