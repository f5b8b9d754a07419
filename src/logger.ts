// pino with Cloud Logging's field names: `severity` instead of a numeric level,
// `message` as the message key, and the trace field derived per request.
// Secrets are redacted by path; payloads are never passed to the logger.
import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export interface LoggerOptions {
  level?: string;
  destination?: DestinationStream;
  base?: Record<string, unknown>;
  /** Human-readable lines (pino-pretty) instead of JSON: `executor dev` on a terminal. */
  pretty?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const pretty = opts.pretty === true && !opts.destination;
  return pino(
    {
      level: opts.level ?? 'info',
      messageKey: 'message',
      base: opts.base ?? null,
      timestamp: pino.stdTimeFunctions.isoTime,
      // pino-pretty reads pino's numeric level; Cloud Logging reads `severity`.
      ...(pretty ? {} : { formatters: { level: (label: string) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }) } }),
      serializers: { err: serializeError },
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
    pretty ? prettyStream() : opts.destination,
  );
}

/** pino-pretty, loaded only when asked for (a terminal), so serve never loads it. */
function prettyStream(): DestinationStream {
  const pinoPretty = createRequire(import.meta.url)('pino-pretty') as (o: Record<string, unknown>) => DestinationStream;
  return pinoPretty({ colorize: true, messageKey: 'message', translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true });
}

/**
 * `err` as {type, code, message, stack}: a thrown non-Error (a plain object
 * from a client library, a string) still says what went wrong instead of
 * `{"type":"Object","stack":""}`.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const { code, status, permanent } = err as Error & { code?: unknown; status?: unknown; permanent?: unknown };
    return {
      type: err.name,
      message: err.message || String(code ?? err.name),
      ...(code !== undefined ? { code } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(permanent !== undefined ? { permanent } : {}),
      ...(err.stack ? { stack: err.stack } : {}),
      ...(err.cause !== undefined ? { cause: serializeError(err.cause) } : {}),
    };
  }
  if (err && typeof err === 'object') {
    const o = err as Record<string, unknown>;
    let message = typeof o.message === 'string' ? o.message : undefined;
    if (!message) {
      try {
        message = JSON.stringify(o);
      } catch {
        message = Object.prototype.toString.call(o);
      }
    }
    return { ...o, message };
  }
  return { message: String(err) };
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

/**
 * Fastify's request logger (childLoggerFactory): `parent.child({reqId})` made
 * only when a line is written at an enabled level. At info a push that logs
 * nothing through Fastify (the delivery logs through its own child) then pays
 * for one small object instead of a pino child and its serialised bindings.
 * A class, not a Proxy: one allocation per request, methods on the prototype.
 */
export class RequestLogger {
  #parent: Logger;
  #bindings: Record<string, unknown>;
  #child: Logger | undefined;
  constructor(parent: Logger, bindings: Record<string, unknown>) {
    this.#parent = parent;
    this.#bindings = bindings;
  }
  #real(): Logger {
    this.#child ??= this.#parent.child(this.#bindings);
    return this.#child;
  }
  #write(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: unknown[]): void {
    if (!this.#child && !this.#parent.isLevelEnabled(level)) return;
    const log = this.#real();
    (log[level] as (...a: unknown[]) => void).apply(log, args);
  }
  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  silent(): void {}
  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): Logger {
    return this.#real().child(bindings, options);
  }
  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level);
  }
  bindings(): Record<string, unknown> {
    return this.#child ? this.#child.bindings() : { ...this.#parent.bindings(), ...this.#bindings };
  }
  get level(): string {
    return (this.#child ?? this.#parent).level;
  }
  set level(level: string) {
    this.#real().level = level;
  }
}

/**
 * Fastify's childLoggerFactory: a lazy RequestLogger, or a real child when a
 * route sets its own level or serializers (the parent cannot answer for those).
 */
export function requestChildLogger(parent: Logger, bindings: Record<string, unknown>, opts: { level?: string; serializers?: unknown }): Logger {
  if (opts.level || opts.serializers) return parent.child(bindings, opts as Record<string, never>);
  return new RequestLogger(parent, bindings) as unknown as Logger;
}

const LEVEL_METHODS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);
const noop = () => {};

/**
 * `parent.child(bindings)`, made only when a line is written at an enabled
 * level (or when anything but a level method is used). A delivery at `info`
 * that logs nothing until its last line pays for one child, not two; a line
 * at a disabled level costs a property lookup. `bindings` may still be added
 * to until the child is made (the attempt number, once counted).
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger & { bind(fields: Record<string, unknown>): void } {
  let child: Logger | undefined;
  const real = () => {
    child ??= parent.child(bindings);
    return child;
  };
  const bind = (fields: Record<string, unknown>) => {
    if (child) child = child.child(fields);
    else Object.assign(bindings, fields);
  };
  const isLevelEnabled = (level: string) => (child ?? parent).isLevelEnabled(level);
  return new Proxy(parent, {
    get(_target, prop) {
      if (prop === 'bind') return bind;
      if (typeof prop === 'string' && LEVEL_METHODS.has(prop)) {
        if (!child && !parent.isLevelEnabled(prop)) return noop;
        const log = real();
        return (log[prop as 'info'] as (...a: unknown[]) => void).bind(log);
      }
      if (prop === 'isLevelEnabled') return isLevelEnabled;
      if (prop === 'level') return (child ?? parent).level;
      const log = real();
      const value = Reflect.get(log, prop);
      return typeof value === 'function' ? value.bind(log) : value;
    },
  }) as Logger & { bind(fields: Record<string, unknown>): void };
}
