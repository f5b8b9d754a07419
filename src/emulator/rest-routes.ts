// The Cloud Tasks v2 REST surface. One wildcard route per method, matched here
// by pattern, because resource paths carry ":verb" suffixes (queues/q:pause)
// that Fastify's router would read as parameters.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CloudTasksService } from './cloud-tasks-service.ts';
import { GoogleApiError, invalidArgument, notFound, unimplemented } from './google-error.ts';
import { parseUpdateMask, queueToJson } from './queue-model.ts';
import { locationPath } from './resource-names.ts';
import { taskToJson } from './task-model.ts';
import { page, viewEnum, type View } from './wire.ts';

const MAX_TASK_PAGE = 1000;
const MAX_QUEUE_PAGE = 9800;

type Query = Record<string, string | undefined>;
type Body = Record<string, unknown>;

interface Ctx {
  m: RegExpExecArray;
  query: Query;
  body: Body;
  /** The Node client asks for numeric enums ($alt=json;enum-encoding=int); gcloud for names. */
  asInt: boolean;
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

export function restRoutes(app: FastifyInstance, svc: CloudTasksService): void {
  const queueName = (m: RegExpExecArray) => `${locationPath(m[1], m[2])}/queues/${m[3]}`;

  const routes: Array<[method: string, pattern: RegExp, handler: Handler]> = [
    ['GET', re(`projects/${SEG}/locations`), ({ m }) => ({ locations: [{ name: locationPath(m[1], 'us-central1'), locationId: 'us-central1' }] })],
    ['GET', re(LOC), ({ m }) => ({ name: locationPath(m[1], m[2]), locationId: m[2] })],
    [
      'GET',
      re(`${LOC}/queues`),
      ({ m, query, asInt }) => {
        const p = page(svc.listQueues(locationPath(m[1], m[2])), query.pageSize, query.pageToken, MAX_QUEUE_PAGE);
        return { queues: p.items.map((q) => queueToJson(q, asInt)), ...(p.nextPageToken ? { nextPageToken: p.nextPageToken } : {}) };
      },
    ],
    ['POST', re(`${LOC}/queues`), ({ m, body, asInt }) => queueToJson(svc.createQueue(locationPath(m[1], m[2]), body), asInt)],
    ['GET', re(QUEUE), ({ m, asInt }) => queueToJson(svc.queue(queueName(m)).config, asInt)],
    ['PATCH', re(QUEUE), ({ m, body, query, asInt }) => queueToJson(svc.updateQueue(queueName(m), body, parseUpdateMask(query.updateMask)), asInt)],
    ['DELETE', re(QUEUE), ({ m }) => (svc.deleteQueue(queueName(m)), {})],
    ['POST', re(`${QUEUE}:pause`), ({ m, asInt }) => queueToJson(svc.setQueueState(queueName(m), 'PAUSED'), asInt)],
    ['POST', re(`${QUEUE}:resume`), ({ m, asInt }) => queueToJson(svc.setQueueState(queueName(m), 'RUNNING'), asInt)],
    ['POST', re(`${QUEUE}:purge`), ({ m, asInt }) => queueToJson(svc.purgeQueue(queueName(m)), asInt)],
    [
      'GET',
      re(`${QUEUE}/tasks`),
      ({ m, query, asInt }) => {
        const v = view(query.responseView);
        const p = page(svc.listTasks(queueName(m)), query.pageSize, query.pageToken, MAX_TASK_PAGE);
        return { tasks: p.items.map((t) => taskToJson(t, v, asInt)), ...(p.nextPageToken ? { nextPageToken: p.nextPageToken } : {}) };
      },
    ],
    ['POST', re(`${QUEUE}/tasks`), ({ m, body, asInt }) => taskToJson(svc.createTask(queueName(m), body.task), view(body.responseView), asInt)],
    ['GET', re(TASK), ({ m, query, asInt }) => taskToJson(svc.task(queueName(m), m[4]).t, view(query.responseView), asInt)],
    ['DELETE', re(TASK), ({ m }) => (svc.deleteTask(queueName(m), m[4]), {})],
    ['POST', re(`${TASK}:run`), ({ m, body, asInt }) => taskToJson(svc.runTask(queueName(m), m[4]), view(body.responseView), asInt)],
    ['POST', re(`${QUEUE}:(getIamPolicy|setIamPolicy|testIamPermissions)`), () => {
      throw unimplemented('IAM methods are not implemented by the emulator.');
    }],
  ];

  app.route({
    method: ['GET', 'POST', 'PATCH', 'DELETE'],
    url: '/v2/*',
    handler: async (req: FastifyRequest, reply) => {
      const path = (req.params as { '*': string })['*'];
      const query = req.query as Query;
      const alt = `${query.$alt ?? ''};${query.alt ?? ''}`;
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Body;
      for (const [method, pattern, handler] of routes) {
        if (method !== req.method) continue;
        const m = pattern.exec(path);
        if (m) return reply.send(handler({ m, query, body, asInt: alt.includes('enum-encoding=int') }));
      }
      throw notFound(`Method not found: ${req.method} /v2/${path}`);
    },
  });
}

function re(pattern: string): RegExp {
  return new RegExp(`^${pattern}$`);
}

/** Every error leaves in Google's JSON error shape. */
export function googleErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    let g: GoogleApiError;
    if (err instanceof GoogleApiError) g = err;
    else if ((err as { statusCode?: number }).statusCode === 400 || err instanceof SyntaxError) g = invalidArgument(`Invalid JSON payload received. ${(err as Error).message}`);
    else if ((err as { statusCode?: number }).statusCode === 413) g = invalidArgument('Request payload too large.');
    else {
      req.log.error({ err }, 'emulator request failed');
      g = new GoogleApiError('INTERNAL', 'Internal error encountered.');
    }
    return reply.code(g.httpCode).type('application/json; charset=UTF-8').send(g.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    const g = notFound(`The requested URL ${req.url.split('?')[0]} was not found on this server.`);
    return reply.code(404).type('application/json; charset=UTF-8').send(g.toJSON());
  });
}
