// Turns whatever a command threw into the one line the CLI prints:
// `executor: <what went wrong> (<what to do>)` and its exit code (1 = the
// operation failed, 2 = usage or configuration). Google API errors carry a
// numeric gRPC code (REST and gRPC alike) or, from some clients, its name.
import { ConfigError, endpointVariables } from '../config.ts';
import { UsageError } from './command.ts';

export interface Explained {
  line: string;
  exitCode: 1 | 2;
}

/** What the command was talking to, so an unreachable endpoint names its variable. */
export interface ErrorContext {
  command: string;
  env: Record<string, string | undefined>;
}

const GRPC_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

const UNREACHABLE = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EAI_AGAIN|ETIMEDOUT|fetch failed|socket hang up/;

/** The roles a command's calls need (Cloud Tasks for enqueue/doctor, Cloud Run for the operator API). */
const ROLES: Record<string, string> = {
  enqueue: 'roles/cloudtasks.enqueuer on the queue (and roles/iam.serviceAccountUser on INVOKER_SERVICE_ACCOUNT)',
  doctor: 'roles/cloudtasks.viewer on the project',
};
const OPERATOR_ROLE = 'roles/run.invoker on the service, and your identity listed in its OIDC_INVOKERS';

export function explainError(err: unknown, ctx: ErrorContext): Explained {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; status?: unknown; cause?: { code?: unknown } };
  const message = oneLine(typeof e.message === 'string' ? e.message : String(err));
  const help = `executor help ${ctx.command}`;
  const { serviceUrl, cloudTasksEmulatorHost: emulatorHost } = endpointVariables(ctx.env);

  if (err instanceof ConfigError) {
    return { line: `executor: configuration error: ${oneLine(err.message)} (fix ${err.variable}; see README "Configuration")`, exitCode: 2 };
  }
  if (err instanceof UsageError) return { line: `executor: ${ctx.command}: ${message} (${help})`, exitCode: 2 };
  if (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
    return { line: `executor: ${ctx.command}: ${parseArgsMessage(e.code, message)} (${help})`, exitCode: 2 };
  }
  // Already `<what> (<what to do>)`: no Google credentials (src/jobs/errors.ts).
  if (e.code === 'MissingCredentials') return { line: `executor: ${message}`, exitCode: 1 };
  if (e.code === 'EADDRINUSE') {
    return { line: `executor: ${ctx.command}: ${message} (another process uses that port; set PORT or EMULATOR_PORT to a free one)`, exitCode: 2 };
  }

  // The operator API (SERVICE_URL): OperatorError carries the HTTP status.
  if ((err as { name?: unknown }).name === 'OperatorError' && typeof e.status === 'number') {
    const url = serviceUrl ?? 'SERVICE_URL';
    if (e.status === 0)
      return { line: `executor: cannot reach the service: ${message} (check SERVICE_URL=${url} and that the service is running)`, exitCode: 1 };
    if (e.status === 401)
      return {
        line: `executor: the service refused the call (401 unauthenticated) (with an AUTH=oidc service set AUTH=oidc here so calls carry an ID token: ADC, or GCE_METADATA_HOST in dev)`,
        exitCode: 1,
      };
    if (e.status === 403) return { line: `executor: the service refused the call (403 permission denied) (the caller needs ${OPERATOR_ROLE})`, exitCode: 1 };
    return { line: `executor: ${ctx.command}: ${message} (see executor status ID, or the service log)`, exitCode: 1 };
  }

  const grpc = grpcName(e.code);
  if (grpc) {
    const tasks = emulatorHost ? `CLOUD_TASKS_EMULATOR_HOST=${emulatorHost}` : 'the Cloud Tasks API (GOOGLE_CLOUD_PROJECT, LOCATION, network)';
    const detail = stripGrpcPrefix(message);
    switch (grpc) {
      case 'INVALID_ARGUMENT':
        if (/too large|size/i.test(detail)) {
          return {
            line: `executor: Cloud Tasks refused the task: ${detail} (set BLOB_DIR or BUCKET so data over OFFLOAD_THRESHOLD is stored as a blob)`,
            exitCode: 1,
          };
        }
        return { line: `executor: Cloud Tasks refused the request: ${detail} (check the arguments; ${help})`, exitCode: 1 };
      case 'UNAVAILABLE':
        return {
          line: `executor: cannot reach ${tasks}: ${reason(err, detail)} (check ${emulatorHost ? 'CLOUD_TASKS_EMULATOR_HOST and that the emulator (npm start) is running' : 'the network and GOOGLE_CLOUD_PROJECT/LOCATION'})`,
          exitCode: 1,
        };
      case 'PERMISSION_DENIED':
        return { line: `executor: permission denied by Cloud Tasks: ${detail} (the caller needs ${ROLES[ctx.command] ?? ROLES.enqueue})`, exitCode: 1 };
      case 'UNAUTHENTICATED':
        return {
          line: `executor: not authenticated to Google Cloud: ${detail} (run gcloud auth application-default login, or set GOOGLE_APPLICATION_CREDENTIALS)`,
          exitCode: 1,
        };
      case 'NOT_FOUND':
        return { line: `executor: not found: ${detail} (check GOOGLE_CLOUD_PROJECT, LOCATION and CHAIN; executor doctor lists what is missing)`, exitCode: 1 };
      case 'RESOURCE_EXHAUSTED':
        return { line: `executor: quota exceeded: ${detail} (retry later, or raise the Cloud Tasks quota)`, exitCode: 1 };
      case 'DEADLINE_EXCEEDED':
        return { line: `executor: ${tasks} did not answer in time: ${detail} (retry; check the network)`, exitCode: 1 };
      case 'FAILED_PRECONDITION':
        return { line: `executor: Cloud Tasks refused the request: ${detail} (is the queue paused or disabled? executor doctor)`, exitCode: 1 };
      default:
        return { line: `executor: Cloud Tasks error ${grpc}: ${detail} (retry; if it persists, run executor doctor)`, exitCode: 1 };
    }
  }

  const net = networkCode(err);
  if (net) {
    const where = serviceUrl ? `SERVICE_URL=${serviceUrl}` : emulatorHost ? `CLOUD_TASKS_EMULATOR_HOST=${emulatorHost}` : 'the endpoint';
    return { line: `executor: cannot connect (${net}): ${message} (check ${where} and that it is running)`, exitCode: 1 };
  }
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
    return { line: `executor: ${ctx.command}: ${message} (check the path or permission it names)`, exitCode: 1 };
  }
  return { line: `executor: ${ctx.command} failed: ${message} (run with LOG_LEVEL=debug for more, or see executor doctor)`, exitCode: 1 };
}

function grpcName(code: unknown): string | undefined {
  if (typeof code === 'number' && Number.isInteger(code) && code > 0 && code < GRPC_NAMES.length) return GRPC_NAMES[code];
  if (typeof code === 'string' && GRPC_NAMES.includes(code) && code !== 'OK') return code;
  return undefined;
}

/** gax prefixes messages with `3 INVALID_ARGUMENT: `; the name is said by the line already. */
function stripGrpcPrefix(message: string): string {
  return message.replace(/^\d+ [A-Z_]+: /, '');
}

/** ECONNREFUSED rather than the URL-laden message of the REST transport. */
function reason(err: unknown, fallback: string): string {
  return networkCode(err) ?? UNREACHABLE.exec(fallback)?.[0] ?? fallback;
}

function networkCode(err: unknown): string | undefined {
  let cur = err as { code?: unknown; cause?: unknown; message?: unknown } | undefined;
  for (let i = 0; cur && i < 4; i++, cur = cur.cause as typeof cur) {
    if (typeof cur.code === 'string' && UNREACHABLE.test(cur.code)) return cur.code;
    if (typeof cur.message === 'string') {
      const m = UNREACHABLE.exec(cur.message);
      if (m?.[0].startsWith('E')) return m[0];
    }
  }
  return undefined;
}

/** node:util parseArgs messages are long and mention internals; keep what matters. */
function parseArgsMessage(code: string, message: string): string {
  const option = /'(-[^']*)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}`.trim();
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return message.replace(/\.$/, '');
  return message;
}

function oneLine(s: string): string {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ')
    .slice(0, 500);
}
