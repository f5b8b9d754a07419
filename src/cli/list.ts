// `executor list [--state S] [--type T] [--queue Q] [--since TIME] [--until TIME]
// [--limit N] [--json] [--watch] [--interval MS]`: runs newest first from
// GET /v1/tasks. --watch prints the page, then a line for every new run and
// every change of state, until SIGINT.
import { parseArgs } from 'node:util';
import type { ListFilter, TaskSummary } from '../client/operator-client.ts';
import type { LineageState } from '../interfaces.ts';
import { cliConfig, operatorClient } from './cli-context.ts';
import { type CliIo, type Command, UsageError } from './command.ts';

const STATES: readonly LineageState[] = ['running', 'retrying', 'throttled', 'succeeded', 'failed', 'forwarded', 'cancelled'];

export const listCommand = async (argv: string[], io: CliIo, stop?: AbortSignal): Promise<number> => {
  const { values } = parseArgs({
    args: argv,
    options: {
      state: { type: 'string' },
      type: { type: 'string' },
      queue: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      watch: { type: 'boolean' },
      interval: { type: 'string' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.state !== undefined && !STATES.includes(values.state as LineageState)) {
    throw new UsageError(`--state must be one of ${STATES.join(', ')}`);
  }
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError('--limit must be a whole number from 1 to 500');
  const intervalMs = values.interval === undefined ? 1000 : Number(values.interval);
  if (!Number.isInteger(intervalMs) || intervalMs < 50) throw new UsageError('--interval must be a whole number of milliseconds >= 50');
  for (const name of ['since', 'until'] as const) {
    const v = values[name];
    if (v !== undefined && !Number.isFinite(Date.parse(v))) throw new UsageError(`--${name} "${v}" is not a time (ISO 8601, e.g. 2026-11-23T10:00:00Z)`);
  }
  const filter: ListFilter = {
    pageSize: limit,
    ...(values.state ? { state: values.state as LineageState } : {}),
    ...(values.type ? { type: values.type } : {}),
    ...(values.queue ? { queue: values.queue } : {}),
    ...(values.since ? { since: new Date(values.since) } : {}),
    ...(values.until ? { until: new Date(values.until) } : {}),
  };
  const operator = operatorClient(cliConfig(io.env), io.env);
  const page = await operator.list(filter);
  if (!values.watch) {
    if (values.json) io.out(JSON.stringify(page));
    else if (page.tasks.length === 0) io.out('no runs match');
    else for (const line of formatTable(page.tasks)) io.out(line);
    return 0;
  }

  // Watch: one line per run first, then one per new run or change of state.
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  stop?.addEventListener('abort', onSigint, { once: true });
  const seen = new Map<string, string>();
  const emit = (tasks: TaskSummary[]) => {
    for (const x of [...tasks].reverse()) {
      const key = `${x.state}/${x.attempts}`;
      if (seen.get(x.id) === key) continue;
      seen.set(x.id, key);
      io.out(values.json ? JSON.stringify(x) : formatRow(x));
    }
  };
  try {
    if (!values.json) io.out(header());
    emit(page.tasks);
    while (!abort.signal.aborted) {
      await sleep(intervalMs, abort.signal);
      if (abort.signal.aborted) break;
      emit((await operator.list(filter)).tasks);
    }
    return 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
};

export const listCommandEntry: Command = (argv, io) => listCommand(argv, io);

const COLUMNS = [
  ['CREATED', 24],
  ['ID', 36],
  ['TYPE', 10],
  ['STATE', 10],
  ['QUEUE', 14],
  ['ATT', 4],
] as const;

function header(): string {
  return [...COLUMNS.map(([h, w]) => h.padEnd(w)), 'ERROR / STATUS'].join(' ').trimEnd();
}

function formatRow(x: TaskSummary): string {
  const cells = [x.createdAt, x.id, x.type ?? '-', x.state, `${x.queue ?? '-'}#${x.tier}`, String(x.attempts)];
  const err = x.error ? `${x.error.code}: ${x.error.message}` : (x.statusText ?? (x.replayOf ? `replay of ${x.replayOf}` : ''));
  return [...cells.map((c, i) => c.padEnd(COLUMNS[i]![1])), err.length > 80 ? `${err.slice(0, 77)}...` : err].join(' ').trimEnd();
}

export function formatTable(tasks: TaskSummary[]): string[] {
  return [header(), ...tasks.map(formatRow)];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
