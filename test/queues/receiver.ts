// Test helper: a local HTTP server that records every push it receives and
// answers 200, on a port the OS picks.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { startEmulator } from '../../src/emulator/index.ts';
import { createCloudTasksQueue } from '../../src/queues/cloud-tasks-queue.ts';

export interface Push {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Receiver {
  url: string;
  pushes: Push[];
  /** Resolves once `count` pushes have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<Push[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const pushes: Push[] = [];
  const waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      pushes.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    pushes,
    waitFor(count, timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`only ${pushes.length} of ${count} pushes arrived`)), timeoutMs);
        const check = () => {
          if (pushes.length >= count) {
            clearTimeout(deadline);
            resolve(pushes.slice());
          } else waiters.push(check);
        };
        check();
      });
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * The project's Cloud Tasks emulator, a receiver for its pushes and the
 * production TaskQueue pointed at it; all closed by the test's teardown.
 */
export async function startQueueHarness(t: { teardown(fn: () => unknown): void }, project: string, location: string) {
  const emu = await startEmulator({ port: 0, logger: false });
  const receiver = await startReceiver();
  const queue = createCloudTasksQueue({ project, location, emulatorHost: new URL(emu.url).host });
  t.teardown(async () => {
    await queue.close();
    await receiver.close();
    await emu.close();
  });
  return { emu, receiver, queue };
}
