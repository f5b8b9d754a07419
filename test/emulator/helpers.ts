// Shared by the emulator tests: a push target server that records every
// request, and a tiny REST caller for the emulator.
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface RecordedPush {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What the target answers to the n-th push (0-based); 'hang' never answers. */
export type Reply = { status: number; headers?: Record<string, string> } | 'hang';

export interface Target {
  url: string;
  pushes: RecordedPush[];
  close(): Promise<void>;
}

export async function startTarget(reply: (push: RecordedPush, n: number) => Reply = () => ({ status: 200 })): Promise<Target> {
  const pushes: RecordedPush[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const push = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      const n = pushes.push(push) - 1;
      const r = reply(push, n);
      if (r === 'hang') return;
      res.writeHead(r.status, r.headers);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    pushes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** Call the emulator's REST API: api(url, 'POST', 'projects/p/.../tasks', {task}). */
export async function api(base: string, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const res = await fetch(`${base}/v2/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

export const PARENT = 'projects/test-project/locations/us-central1';

/** Poll (real time, briefly) until cond holds; for pushes a hanging target never lets settle. */
export async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
