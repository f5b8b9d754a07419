// What a client gets when Node cannot parse its request, before any route (or
// the auth hook) sees it. Fastify's own handler answers the same statuses but
// logs at trace level only; a push refused for its header size must be seen by
// an operator, because Cloud Tasks retries a 431 until its attempts run out.
// Nothing is written to the ledger: the request was never authenticated, and
// its headers (the task name among them) were never parsed.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { MAX_HEADER_BYTES } from '../limits.ts';

/** A clientErrorHandler for Fastify: 431 with the service's error shape and a WARN line naming the limit; 408/400 as Fastify answers them. */
export function clientErrorHandler(logger: Logger): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let status: number;
    let body: string;
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      logger.warn(
        { remoteAddress: socket.remoteAddress, limit: MAX_HEADER_BYTES },
        'request refused: its headers are over MAX_HEADER_BYTES (431); Cloud Tasks never sends that much, so this was not a Cloud Tasks push',
      );
      body = JSON.stringify({
        error: {
          code: 'HeadersTooLarge',
          message: `request headers are over ${MAX_HEADER_BYTES} bytes (Cloud Tasks allows 80 KB of task headers)`,
          permanent: true,
        },
      });
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      body = JSON.stringify({ error: { code: 'RequestTimeout', message: 'the request was not received in time', permanent: false } });
    } else {
      status = 400;
      body = JSON.stringify({ error: { code: 'BadRequest', message: 'the request is not valid HTTP', permanent: true } });
      logger.debug({ err, remoteAddress: socket.remoteAddress }, 'client error');
    }
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(err);
  };
}
