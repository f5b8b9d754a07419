// One push of a task to its target, over one shared undici Agent (a keep-alive
// pool per origin), not fetch: fetch would add headers Cloud Tasks never sends
// (sec-fetch-mode, accept-language, user-agent). undici's request costs about
// half the CPU of node:http's per push, which is what lets one emulator queue
// dispatch thousands of tasks a second.
import { Agent } from 'undici';

export interface PushRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  signal: AbortSignal;
}

export interface PushResult {
  /** HTTP status; undefined when no response arrived (network error, abort). */
  status?: number;
  retryAfter?: string;
  error?: string;
}

export class PushAgents {
  /**
   * Connections per origin are not capped here (a queue's maxConcurrentDispatches
   * is the cap) and idle ones are kept a while for reuse. undici's own header and
   * body timeouts (300 s) are off: the task's dispatchDeadline (up to 30 min) is
   * the only limit, enforced by the dispatcher through the signal.
   */
  readonly agent = new Agent({ keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });

  async destroy(): Promise<void> {
    await this.agent.destroy().catch(() => {});
  }
}

interface Target {
  origin: string;
  path: string;
  /** Basic credentials written in the URL (http://user:pass@host/), sent as node:http would. */
  auth?: string;
}

/** Parsed target URLs: a queue's tasks usually share a handful. */
const targets = new Map<string, Target>();

function targetOf(url: string): Target {
  let t = targets.get(url);
  if (t === undefined) {
    const u = new URL(url);
    t = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (u.username || u.password) t.auth = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    if (targets.size >= 1000) targets.clear();
    targets.set(url, t);
  }
  return t;
}

export async function push(req: PushRequest, agents: PushAgents): Promise<PushResult> {
  try {
    const target = targetOf(req.url);
    let headers = req.headers;
    if (target.auth && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) headers = { ...headers, Authorization: target.auth };
    // A POST, PUT or PATCH without a body still says Content-Length: 0, as Cloud Tasks does.
    if (!req.body && (req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH')) headers = { ...headers, 'Content-Length': '0' };
    const res = await agents.agent.request({
      origin: target.origin,
      path: target.path,
      method: req.method as 'POST',
      headers,
      body: req.body ?? null,
      signal: req.signal,
    });
    const ra = res.headers['retry-after'];
    const retryAfter = Array.isArray(ra) ? ra[0] : ra;
    // The body is not kept; reading it to the end frees the connection for reuse.
    await res.body.dump().catch(() => {});
    return { status: res.statusCode, ...(retryAfter !== undefined ? { retryAfter } : {}) };
  } catch (err) {
    // A network error, the deadline, or a header value the task set that HTTP cannot carry.
    return { error: req.signal.aborted ? 'deadline' : (err as Error).message };
  }
}
