// One push of a task to its target over node:http(s), not fetch: fetch would add
// headers Cloud Tasks never sends (sec-fetch-mode, accept-language, user-agent).
import http from 'node:http';
import https from 'node:https';

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

/**
 * One keep-alive agent per scheme for every push. Idle sockets are kept up to
 * the most a queue can have in flight: with the default 256 a queue at 1,000
 * concurrent dispatches would close and reopen connections all the time.
 */
const AGENT_OPTIONS = { keepAlive: true, maxFreeSockets: 5000 };

export class PushAgents {
  readonly http = new http.Agent(AGENT_OPTIONS);
  readonly https = new https.Agent(AGENT_OPTIONS);

  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

export function push(req: PushRequest, agents: PushAgents): Promise<PushResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: PushResult) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const url = new URL(req.url);
    const isHttps = url.protocol === 'https:';
    const headers = { ...req.headers };
    if (req.body || req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH') {
      headers['Content-Length'] = String(req.body?.length ?? 0);
    }
    const options: http.RequestOptions = {
      method: req.method,
      headers,
      agent: isHttps ? agents.https : agents.http,
      signal: req.signal,
    };
    let out: http.ClientRequest;
    try {
      out = (isHttps ? https : http).request(url, options, (res) => {
        const retryAfter = res.headers['retry-after'];
        const status = res.statusCode;
        // The body is not kept; reading it to the end frees the socket for reuse.
        res.resume();
        res.once('end', () => done({ status, retryAfter }));
        res.once('error', () => done({ status, retryAfter }));
        res.once('close', () => done({ status, retryAfter }));
      });
    } catch (err) {
      // A header value the task set that HTTP cannot carry: the attempt fails like a network error.
      done({ error: (err as Error).message });
      return;
    }
    out.once('error', (err) => done({ error: req.signal.aborted ? 'deadline' : err.message }));
    out.end(req.body);
  });
}
