// pino with Cloud Logging's field names: `severity` instead of a numeric level,
// `message` as the message key, and the trace field derived per request.
// Secrets are redacted by path; payloads are never passed to the logger.
import pino, { type Logger, type DestinationStream } from 'pino';

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export function createLogger(opts: { level?: string; destination?: DestinationStream; base?: Record<string, unknown> } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      messageKey: 'message',
      base: opts.base ?? null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }),
      },
      redact: {
        paths: [
          'authorization',
          'headers.authorization',
          'req.headers.authorization',
          '*.headers.authorization',
          'token',
          '*.token',
          'args.headers',
          'data',
          'payload',
        ],
        censor: '[redacted]',
      },
    },
    opts.destination,
  );
}

/**
 * The Cloud Logging trace field from `X-Cloud-Trace-Context: TRACE/SPAN;o=1`
 * or W3C `traceparent: 00-TRACE-SPAN-01`; undefined when neither is usable.
 */
export function traceField(project: string, headers: Record<string, string | string[] | undefined>): Record<string, string> {
  let trace: string | undefined;
  const cloud = header(headers, 'x-cloud-trace-context');
  if (cloud) trace = /^([0-9a-fA-F]{32})/.exec(cloud)?.[1];
  if (!trace) {
    const tp = header(headers, 'traceparent');
    if (tp) trace = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(tp.trim())?.[1];
  }
  if (!trace || /^0+$/.test(trace)) return {};
  return { 'logging.googleapis.com/trace': project ? `projects/${project}/traces/${trace}` : trace };
}

export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
