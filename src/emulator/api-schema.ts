// The messages of the Cloud Tasks REST API (v2 and v2beta3) as field tables,
// and the strict proto3-JSON reading Google's front end does: field names in
// camelCase or their snake_case proto names, an unknown name is a 400 that
// names it, and every value has its field's type. Everything past this file
// sees camelCase names and enum names only.
import { type FieldViolation, GoogleApiError } from './google-error.ts';
import { HTTP_METHODS, QUEUE_STATES, VIEWS } from './wire.ts';

export type ApiVersion = 'v2' | 'v2beta3';
export const API_VERSIONS: readonly ApiVersion[] = ['v2', 'v2beta3'];

/**
 * A field's type: a scalar, `Duration`/`Timestamp` (JSON strings), `map` (string
 * to string), `enum:Name` or `msg:Name`; a trailing `[]` means repeated.
 */
type FieldType = string;
type Message = Record<string, FieldType>;

const ENUMS: Record<string, readonly string[]> = {
  HttpMethod: HTTP_METHODS,
  View: VIEWS,
  QueueState: QUEUE_STATES,
  QueueType: ['TYPE_UNSPECIFIED', 'PULL', 'PUSH'],
  Scheme: ['SCHEME_UNSPECIFIED', 'HTTP', 'HTTPS'],
  UriOverrideEnforceMode: ['URI_OVERRIDE_ENFORCE_MODE_UNSPECIFIED', 'IF_NOT_EXISTS', 'ALWAYS'],
};

const COMMON: Record<string, Message> = {
  RateLimits: { maxDispatchesPerSecond: 'double', maxBurstSize: 'int32', maxConcurrentDispatches: 'int32' },
  RetryConfig: { maxAttempts: 'int32', maxRetryDuration: 'Duration', minBackoff: 'Duration', maxBackoff: 'Duration', maxDoublings: 'int32' },
  StackdriverLoggingConfig: { samplingRatio: 'double' },
  AppEngineRouting: { service: 'string', version: 'string', instance: 'string', host: 'string' },
  HttpRequest: { url: 'string', httpMethod: 'enum:HttpMethod', headers: 'map', body: 'bytes', oauthToken: 'msg:OAuthToken', oidcToken: 'msg:OidcToken' },
  AppEngineHttpRequest: { httpMethod: 'enum:HttpMethod', appEngineRouting: 'msg:AppEngineRouting', relativeUri: 'string', headers: 'map', body: 'bytes' },
  OAuthToken: { serviceAccountEmail: 'string', scope: 'string' },
  OidcToken: { serviceAccountEmail: 'string', audience: 'string' },
  HttpTarget: {
    uriOverride: 'msg:UriOverride',
    httpMethod: 'enum:HttpMethod',
    headerOverrides: 'msg:HeaderOverride[]',
    oauthToken: 'msg:OAuthToken',
    oidcToken: 'msg:OidcToken',
  },
  UriOverride: {
    scheme: 'enum:Scheme',
    host: 'string',
    port: 'int64',
    pathOverride: 'msg:PathOverride',
    queryOverride: 'msg:QueryOverride',
    uriOverrideEnforceMode: 'enum:UriOverrideEnforceMode',
  },
  PathOverride: { path: 'string' },
  QueryOverride: { queryParams: 'string' },
  HeaderOverride: { header: 'msg:Header' },
  Header: { key: 'string', value: 'string' },
  Attempt: { scheduleTime: 'Timestamp', dispatchTime: 'Timestamp', responseTime: 'Timestamp', responseStatus: 'msg:Status' },
  Status: { code: 'int32', message: 'string', details: 'any[]' },
  CreateTaskRequest: { parent: 'string', task: 'msg:Task', responseView: 'enum:View' },
  RunTaskRequest: { name: 'string', responseView: 'enum:View' },
  NameRequest: { name: 'string' },
  BufferTaskRequest: { queue: 'string', taskId: 'string', body: 'msg:HttpBody' },
  HttpBody: { contentType: 'string', data: 'bytes', extensions: 'any[]' },
  GetIamPolicyRequest: { resource: 'string', options: 'msg:GetPolicyOptions' },
  GetPolicyOptions: { requestedPolicyVersion: 'int32' },
  SetIamPolicyRequest: { resource: 'string', policy: 'msg:Policy', updateMask: 'string' },
  TestIamPermissionsRequest: { resource: 'string', permissions: 'string[]' },
  Policy: { version: 'int32', bindings: 'msg:Binding[]', auditConfigs: 'any[]', etag: 'bytes' },
  Binding: { role: 'string', members: 'string[]', condition: 'msg:Expr' },
  Expr: { expression: 'string', title: 'string', description: 'string', location: 'string' },
  CmekConfig: { name: 'string', kmsKey: 'string' },
};

const SCHEMAS: Record<ApiVersion, Record<string, Message>> = {
  v2: {
    ...COMMON,
    Queue: {
      name: 'string',
      appEngineRoutingOverride: 'msg:AppEngineRouting',
      httpTarget: 'msg:HttpTarget',
      rateLimits: 'msg:RateLimits',
      retryConfig: 'msg:RetryConfig',
      state: 'enum:QueueState',
      purgeTime: 'Timestamp',
      stackdriverLoggingConfig: 'msg:StackdriverLoggingConfig',
    },
    Task: {
      name: 'string',
      appEngineHttpRequest: 'msg:AppEngineHttpRequest',
      httpRequest: 'msg:HttpRequest',
      scheduleTime: 'Timestamp',
      createTime: 'Timestamp',
      dispatchDeadline: 'Duration',
      dispatchCount: 'int32',
      responseCount: 'int32',
      firstAttempt: 'msg:Attempt',
      lastAttempt: 'msg:Attempt',
      view: 'enum:View',
    },
  },
  v2beta3: {
    ...COMMON,
    Queue: {
      name: 'string',
      appEngineHttpQueue: 'msg:AppEngineHttpQueue',
      httpTarget: 'msg:HttpTarget',
      rateLimits: 'msg:RateLimits',
      retryConfig: 'msg:RetryConfig',
      state: 'enum:QueueState',
      purgeTime: 'Timestamp',
      taskTtl: 'Duration',
      tombstoneTtl: 'Duration',
      stackdriverLoggingConfig: 'msg:StackdriverLoggingConfig',
      type: 'enum:QueueType',
      stats: 'msg:QueueStats',
    },
    AppEngineHttpQueue: { appEngineRoutingOverride: 'msg:AppEngineRouting' },
    QueueStats: {
      tasksCount: 'int64',
      oldestEstimatedArrivalTime: 'Timestamp',
      executedLastMinuteCount: 'int64',
      concurrentDispatchesCount: 'int64',
      effectiveExecutionRate: 'double',
    },
    PullMessage: { payload: 'bytes', tag: 'string' },
    Task: {
      name: 'string',
      appEngineHttpRequest: 'msg:AppEngineHttpRequest',
      httpRequest: 'msg:HttpRequest',
      pullMessage: 'msg:PullMessage',
      scheduleTime: 'Timestamp',
      createTime: 'Timestamp',
      dispatchDeadline: 'Duration',
      dispatchCount: 'int32',
      responseCount: 'int32',
      firstAttempt: 'msg:Attempt',
      lastAttempt: 'msg:Attempt',
      view: 'enum:View',
    },
  },
};

export const snakeToCamel = (s: string): string => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
export const camelToSnake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The field names of a message in this version (camelCase), for update masks. */
export function messageFields(version: ApiVersion, message: string): Message {
  const m = SCHEMAS[version][message];
  if (!m) throw new Error(`no message ${message} in ${version}`);
  return m;
}

type Json = Record<string, unknown>;

/**
 * Read `value` as message `message` of `version`: a camelCase copy with enums
 * as names and int64s as numbers, or a 400 INVALID_ARGUMENT listing every
 * unknown name and bad value the way Google's front end words them. `root` is
 * the request field the body binds to ('' for a body of "*"), e.g. 'queue'.
 */
export function readMessage(version: ApiVersion, message: string, value: unknown, root = ''): Json {
  const violations: FieldViolation[] = [];
  const out = readValue(version, `msg:${message}`, value, root, violations);
  if (violations.length > 0) {
    throw new GoogleApiError('INVALID_ARGUMENT', violations.map((v) => v.description).join('\n'), violations);
  }
  return (out ?? {}) as Json;
}

function at(path: string): string {
  return path ? ` at '${path}'` : '';
}

function bad(violations: FieldViolation[], path: string, type: string, value: unknown): undefined {
  const description = `Invalid value${at(path)} (${type}), ${JSON.stringify(value)}`;
  violations.push(path ? { field: path, description } : { description });
  return undefined;
}

function readValue(version: ApiVersion, type: FieldType, value: unknown, path: string, violations: FieldViolation[]): unknown {
  if (type.endsWith('[]')) {
    if (!Array.isArray(value)) return bad(violations, path, 'TYPE_LIST', value);
    const inner = type.slice(0, -2);
    return value.map((v, i) => readValue(version, inner, v, `${path}[${i}]`, violations));
  }
  switch (type) {
    case 'any':
      return value;
    case 'string':
    case 'Duration':
    case 'Timestamp':
      // Durations and timestamps are checked where they are used, with their own messages.
      return typeof value === 'string' || (type !== 'string' && typeof value === 'object' && value !== null)
        ? value
        : bad(violations, path, type === 'string' ? 'TYPE_STRING' : `type.googleapis.com/google.protobuf.${type}`, value);
    case 'bytes':
      return typeof value === 'string' ? value : bad(violations, path, 'TYPE_BYTES', value);
    case 'bool':
      return typeof value === 'boolean' ? value : bad(violations, path, 'TYPE_BOOL', value);
    case 'int32':
    case 'int64': {
      const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
      return typeof n === 'number' && Number.isInteger(n) ? n : bad(violations, path, type === 'int32' ? 'TYPE_INT32' : 'TYPE_INT64', value);
    }
    case 'double': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      return typeof n === 'number' && !Number.isNaN(n) ? n : bad(violations, path, 'TYPE_DOUBLE', value);
    }
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad(violations, path, 'TYPE_MESSAGE', value);
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(value)) {
        if (typeof v === 'string') out[k] = v;
        else bad(violations, `${path}[${JSON.stringify(k)}]`, 'TYPE_STRING', v);
      }
      return out;
    }
  }
  if (type.startsWith('enum:')) {
    const names = ENUMS[type.slice(5)]!;
    if (typeof value === 'number' && Number.isInteger(value) && names[value] !== undefined) return names[value];
    if (typeof value === 'string' && names.includes(value)) return value;
    if (typeof value === 'string' && /^\d+$/.test(value) && names[Number(value)] !== undefined) return names[Number(value)];
    return bad(violations, path, `type.googleapis.com/google.cloud.tasks.${version}.${type.slice(5)}`, value);
  }
  const fields = SCHEMAS[version][type.slice(4)]!;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad(violations, path, 'TYPE_MESSAGE', value);
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    const name = fields[key] !== undefined ? key : key.includes('_') && fields[snakeToCamel(key)] !== undefined ? snakeToCamel(key) : undefined;
    if (name === undefined) {
      const description = `Invalid JSON payload received. Unknown name ${JSON.stringify(key)}${at(path)}: Cannot find field.`;
      violations.push(path ? { field: path, description } : { description });
      continue;
    }
    // proto3 JSON: null means "not set".
    if (v === null) continue;
    const read = readValue(version, fields[name]!, v, path ? `${path}.${camelToSnake(name)}` : camelToSnake(name), violations);
    if (read !== undefined) out[name] = read;
  }
  return out;
}
