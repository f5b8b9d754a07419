// HTTP client of the service's /v1 operator API (status, output, cancel, dead
// letters, redrive) and of the dev notification sink. With `auth: 'oidc'` each
// call carries `Authorization: Bearer <Google ID token>` for the audience,
// obtained through google-auth-library (ADC, or the metadata server — in dev
// the emulator answers the metadata identity call when GCE_METADATA_HOST
// points at it).
import type { CloudEvent, LineageState } from '../interfaces.ts';
import { MissingCredentials } from '../jobs/errors.ts';
import type { JobStatus } from '../schemas/index.ts';
import type { CancelReply, DeadLetterSummary, OutputEvent, RedriveReply, ReplayReply, TaskList, TaskStatus } from '../schemas/operator.ts';
import { OperatorError } from './errors.ts';
import { TASK_ID } from './task-id.ts';

// The shapes are defined once, in src/schemas/operator.ts; these names are the SDK's.
export type { DeadLetterSummary, OutputEvent, ReplayReply, TaskList, TaskStatus, TaskSummary } from '../schemas/operator.ts';
export type CancelOutcome = CancelReply;
export type RedriveOutcome = RedriveReply;

/** Filters of OperatorClient.list (GET /v1/tasks). */
export interface ListFilter {
  state?: LineageState;
  type?: string;
  queue?: string;
  /** ISO 8601 time or Date: created at or after. */
  since?: string | Date;
  /** Created before. */
  until?: string | Date;
  pageSize?: number;
  pageToken?: string;
}

/** Returns a Google-signed ID token for the audience. */
export type IdTokenSource = (audience: string) => Promise<string>;

export interface OperatorClientOptions {
  /** The service's base URL (SERVICE_URL). */
  serviceUrl: string;
  auth?: 'oidc' | 'none';
  /** ID token audience; default serviceUrl (one of the service's default OIDC_AUDIENCE values). */
  idTokenAudience?: string;
  /** Custom token source; default google-auth-library's getIdTokenClient. */
  idToken?: IdTokenSource;
  /** Per request; default 30 s. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
}

/** google-auth-library's ID token client, created once per audience, lazily (it probes ADC). */
export function googleIdTokenSource(): IdTokenSource {
  const clients = new Map<string, Promise<{ getRequestHeaders(url?: string): Promise<unknown> }>>();
  return async (audience) => {
    let client = clients.get(audience);
    if (!client) {
      client = import('google-auth-library').then(({ GoogleAuth }) => new GoogleAuth().getIdTokenClient(audience));
      clients.set(audience, client);
    }
    let headers: unknown;
    try {
      headers = await (await client).getRequestHeaders(audience);
    } catch (err) {
      clients.delete(audience); // ask again next time: credentials may have been provided since
      throw new MissingCredentials(`ID token for ${audience}`, 'GCE_METADATA_HOST (executor dev with AUTH=oidc)', err);
    }
    const value =
      headers instanceof Headers
        ? headers.get('authorization')
        : ((headers as Record<string, string>).Authorization ?? (headers as Record<string, string>).authorization);
    if (!value?.startsWith('Bearer ')) throw new Error('google-auth-library returned no ID token');
    return value.slice('Bearer '.length);
  };
}

export class OperatorClient {
  readonly serviceUrl: string;
  readonly #auth: 'oidc' | 'none';
  readonly #audience: string;
  readonly #idToken: IdTokenSource | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(opts: OperatorClientOptions) {
    this.serviceUrl = opts.serviceUrl.replace(/\/+$/, '');
    this.#auth = opts.auth ?? 'none';
    this.#audience = opts.idTokenAudience ?? this.serviceUrl;
    this.#idToken = this.#auth === 'oidc' ? (opts.idToken ?? googleIdTokenSource()) : undefined;
    this.#timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#fetch = opts.fetch ?? fetch;
  }

  /** The lineage's record; undefined when the service does not know the id (yet). */
  async status(id: string): Promise<TaskStatus | undefined> {
    const res = await this.#call('GET', `/v1/tasks/${checkId(id)}`, undefined, [404]);
    return res.status === 404 ? undefined : (res.body as TaskStatus);
  }

  /** The job's result (its return value, or the offloaded one); undefined when none (yet). */
  async output(id: string): Promise<unknown> {
    const res = await this.#call('GET', `/v1/tasks/${checkId(id)}/result`, undefined, [404]);
    return res.status === 404 ? undefined : res.body;
  }

  /** The job's output so far as text (exec stdout/stderr, ctx.log lines), one header line per attempt. */
  async logs(id: string): Promise<string> {
    const body = (await this.#call('GET', `/v1/tasks/${checkId(id)}/output`, undefined, [], 'text/plain')).body;
    return typeof body === 'string' ? body : JSON.stringify(body);
  }

  /**
   * Follow the output as it is written (Server-Sent Events) until the lineage
   * ended and all of it arrived, or `signal` aborts. Resolves with the final state.
   */
  async followLogs(id: string, onEvent: (e: OutputEvent) => void, signal?: AbortSignal): Promise<string | undefined> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.#idToken) headers.authorization = `Bearer ${await this.#idToken(this.#audience)}`;
    const url = `${this.serviceUrl}/v1/tasks/${checkId(id)}/output?follow=1`;
    let res: Response;
    try {
      res = await this.#fetch(url, { headers, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) return undefined;
      throw new OperatorError(0, 'Unreachable', `GET ${url}: ${(err as Error).message}`);
    }
    if (!res.ok || !res.body) {
      const text = await res.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
      } catch {
        // not JSON
      }
      throw new OperatorError(res.status, httpCode(res.status), `GET /v1/tasks/${id}/output: ${res.status} ${message}`);
    }
    let final: string | undefined;
    let buffer = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (!data) continue;
          const e = { event, data: JSON.parse(data) } as OutputEvent;
          if (e.event === 'end') final = e.data.state;
          onEvent(e);
        }
      }
    } catch (err) {
      if (!signal?.aborted) throw err;
    }
    return final;
  }

  /** One page of lineages, newest first (GET /v1/tasks). */
  async list(filter: ListFilter = {}): Promise<TaskList> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) {
      if (v === undefined) continue;
      q.set(k, v instanceof Date ? v.toISOString() : String(v));
    }
    const qs = q.size ? `?${q}` : '';
    return (await this.#call('GET', `/v1/tasks${qs}`)).body as TaskList;
  }

  /** Start a finished lineage again as a new lineage (`replayOf` links them). Throws OperatorError 404 or 409. */
  async replay(id: string): Promise<ReplayReply> {
    return (await this.#call('POST', `/v1/tasks/${checkId(id)}:replay`, {})).body as ReplayReply;
  }

  /** Throws OperatorError 404 (unknown id) or 409 (already ended). */
  async cancel(id: string): Promise<CancelOutcome> {
    return (await this.#call('POST', `/v1/tasks/${checkId(id)}/cancel`, {})).body as CancelOutcome;
  }

  /** A job's tasks and counts; undefined when no task of it was seen and no size is given. */
  async job(id: string, size?: number): Promise<JobStatus | undefined> {
    const q = size ? `?size=${size}` : '';
    const res = await this.#call('GET', `/v1/jobs/${checkId(id)}${q}`, undefined, [404]);
    return res.status === 404 ? undefined : (res.body as JobStatus);
  }

  /** Cancel every unfinished task of a job. */
  async cancelJob(id: string, size?: number): Promise<{ id: string; cancelled: string[]; alreadyEnded: string[]; deleted: string[] }> {
    const q = size ? `?size=${size}` : '';
    return (await this.#call('POST', `/v1/jobs/${checkId(id)}/cancel${q}`, {})).body as {
      id: string;
      cancelled: string[];
      alreadyEnded: string[];
      deleted: string[];
    };
  }

  async deadLetters(id?: string): Promise<DeadLetterSummary[]> {
    const q = id ? `?id=${encodeURIComponent(checkId(id))}` : '';
    return ((await this.#call('GET', `/v1/dead-letters${q}`)).body as { deadLetters: DeadLetterSummary[] }).deadLetters;
  }

  /** Replay the dead letters of one lineage, or all of them. */
  async redrive(id?: string): Promise<RedriveOutcome> {
    return (await this.#call('POST', '/v1/dead-letters/redrive', id ? { id: checkId(id) } : {})).body as RedriveOutcome;
  }

  /** The dev sink's notifications (GET /v1/notifications; `executor dev` only). */
  async notifications(filter: { id?: string; type?: string } = {}): Promise<CloudEvent[]> {
    const q = new URLSearchParams();
    if (filter.id) q.set('id', filter.id);
    if (filter.type) q.set('type', filter.type);
    const qs = q.size ? `?${q}` : '';
    return ((await this.#call('GET', `/v1/notifications${qs}`)).body as { notifications: CloudEvent[] }).notifications;
  }

  async #call(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    accept: number[] = [],
    mediaType = 'application/json',
  ): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: mediaType };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#idToken) headers.authorization = `Bearer ${await this.#idToken(this.#audience)}`;
    const url = `${this.serviceUrl}${path}`;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new OperatorError(0, 'Unreachable', `${method} ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      if (mediaType === 'application/json' || !res.ok) parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    if (res.ok || accept.includes(res.status)) return { status: res.status, body: parsed };
    // The operator API answers {error: {code, message}}; Fastify's own errors {error, message}.
    const p = parsed as { error?: { code?: unknown; message?: unknown } | string; message?: unknown } | string | undefined;
    const e = typeof p === 'object' && typeof p.error === 'object' ? p.error : undefined;
    const code = typeof e?.code === 'string' ? e.code : httpCode(res.status);
    const message =
      typeof e?.message === 'string'
        ? e.message
        : typeof p === 'object' && typeof p.message === 'string'
          ? p.message
          : typeof p === 'string' && p
            ? p
            : res.statusText;
    throw new OperatorError(res.status, code, `${method} ${path}: ${res.status} ${message}`, parsed);
  }
}

function checkId(id: string): string {
  if (!TASK_ID.test(id)) throw new OperatorError(400, 'InvalidId', `"${id}" is not a task id (letters, digits, - and _, at most 500)`);
  return id;
}

function httpCode(status: number): string {
  if (status === 401) return 'Unauthenticated';
  if (status === 403) return 'PermissionDenied';
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  return `Http${status}`;
}
