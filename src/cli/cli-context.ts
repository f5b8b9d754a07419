// Shared by the submitter commands (enqueue, status, cancel, tail, redrive,
// doctor): config from the environment in 'cli' mode, the operator client,
// argument parsing helpers and the human rendering of a lineage record.
import { readFile } from 'node:fs/promises';
import { OperatorClient, type TaskStatus } from '../client/operator-client.ts';
import { type Config, ConfigError, loadConfig } from '../config.ts';
import type { Tier } from '../interfaces.ts';
import { TASK_ID } from '../schemas/task-id.ts';
import { type CliIo, UsageError } from './command.ts';

/**
 * The CLI's config. Against the emulator (CLOUD_TASKS_EMULATOR_HOST set) an
 * unset GOOGLE_CLOUD_PROJECT / LOCATION / BLOB_DIR falls back to the values
 * `executor dev` uses (src/config.ts).
 */
export function cliConfig(env: CliIo['env']): Config {
  return loadConfig(env, 'cli');
}

export function requireServiceUrl(config: Config): string {
  if (!config.serviceUrl) throw new ConfigError('SERVICE_URL', "required: the service's base URL (e.g. https://executor-xyz.a.run.app)");
  return config.serviceUrl;
}

export function requireQueueLocation(config: Config): { project: string; location: string } {
  if (!config.project) throw new ConfigError('GOOGLE_CLOUD_PROJECT', 'required: the project of the queues');
  if (!config.location) throw new ConfigError('LOCATION', 'required: the location of the queues (e.g. us-central1)');
  return { project: config.project, location: config.location };
}

/** The /v1 operator API of SERVICE_URL; with AUTH=oidc calls carry a Google ID token. */
export function operatorClient(config: Config, _env?: CliIo['env']): OperatorClient {
  const audience = config.auth.audiences[0];
  return new OperatorClient({
    serviceUrl: requireServiceUrl(config),
    auth: config.auth.mode,
    ...(audience ? { idTokenAudience: audience } : {}),
  });
}

/** Parse a JSON option value; a UsageError (exit 2) naming the option otherwise. */
export function parseJsonOption(option: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${option} is not valid JSON: ${(err as Error).message}`);
  }
}

/** `--data JSON`, `--data @file` (a JSON file) or `--data -` (JSON on stdin). */
export async function readDataOption(value: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<unknown> {
  if (value === '-') {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
    return parseJsonOption('--data (stdin)', Buffer.concat(chunks).toString('utf8'));
  }
  if (value.startsWith('@')) {
    let text: string;
    try {
      text = await readFile(value.slice(1), 'utf8');
    } catch (err) {
      throw new UsageError(`--data ${value}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return parseJsonOption(`--data ${value}`, text);
  }
  return parseJsonOption('--data', value);
}

/** Exactly one positional ID. */
export function onePositionalId(positionals: string[], command: string): string {
  if (positionals.length !== 1) throw new UsageError(`usage: executor ${command}`);
  const id = positionals[0]!;
  if (!TASK_ID.test(id)) throw new UsageError(`"${id}" is not a task id (letters, digits, - and _)`);
  return id;
}

function tierLabel(chain: Tier[], index: number, fallback?: string): string {
  return chain[index]?.queue ?? fallback ?? `tier ${index}`;
}

/** The human view of a lineage: state, tier, attempts per tier, last error. */
export function formatRecord(record: TaskStatus, chain: Tier[]): string[] {
  const lines: Array<[string, string]> = [
    ['id', record.id],
    ['type', record.type ?? '-'],
    ['state', record.state],
    ...(record.statusText ? ([['status', record.statusText]] as Array<[string, string]>) : []),
    ['tier', `${record.tier} (${tierLabel(chain, record.tier, record.queue)})`],
  ];
  const tiers = Object.keys(record.attempts ?? {})
    .map(Number)
    .filter((n) => Number.isInteger(n))
    .sort((a, b) => a - b);
  const attempts = tiers.map((t) => {
    // The service's own limit for the tier the lineage is in (its CHAIN); this shell's CHAIN for the others.
    const max = t === record.tier && record.maxAttempts !== undefined ? record.maxAttempts : chain[t]?.maxAttempts;
    const of = max === undefined ? '' : `/${max === null ? 'unlimited' : max}`;
    return `${tierLabel(chain, t)} ${record.attempts[String(t)]}${of}`;
  });
  lines.push(['attempts', attempts.length ? attempts.join(', ') : '0']);
  if (record.error) lines.push(['error', `${record.error.code}: ${record.error.message}${record.error.permanent ? ' (permanent)' : ''}`]);
  lines.push(['created', record.createdAt]);
  lines.push(['updated', record.updatedAt]);
  if (record.finishedAt) lines.push(['finished', record.finishedAt]);
  if (record.outputRef) lines.push(['output', record.outputRef]);
  for (const d of record.deadLetters ?? [])
    lines.push([
      d.error ? 'dead letter' : 'owed',
      d.error ? `${d.kind} ${d.key}: ${d.error.code}: ${d.error.message} (executor redrive ${record.id})` : `${d.kind} ${d.key}: being sent`,
    ]);
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}

/** One line of a CloudEvent for `tail`. */
export function formatEvent(e: { time?: string; type: string; subject?: string; data?: Record<string, unknown> }): string {
  const d = (e.data ?? {}) as { queue?: string; tier?: number; attempt?: number; maxAttempts?: number | null; error?: { code: string; message: string } };
  const kind = e.type.replace(/^executor\.task\./, '');
  const where = d.queue !== undefined ? ` ${d.queue}#${d.tier ?? 0} attempt ${d.attempt ?? '?'}/${d.maxAttempts ?? 'unlimited'}` : '';
  const err = d.error ? ` ${d.error.code}: ${d.error.message}` : '';
  return `${e.time ?? ''} ${kind.padEnd(9)} ${e.subject ?? ''}${where}${err}`.trim();
}
