// `executor job ID [--size N] [--json]`: a job's tasks as a table (DESIGN §8).
// Exit 0 when every task succeeded or the job is still running, 1 when a task
// failed or was cancelled, or the service does not know the job.
import { parseArgs } from 'node:util';
import type { JobStatus } from '../schemas/index.ts';
import { cliConfig, onePositionalId, operatorClient } from './cli-context.ts';
import { type Command, UsageError } from './command.ts';

export const jobCommand: Command = async (argv, io) => {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, size: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const id = onePositionalId(positionals, 'job ID [--size N] [--json]');
  let size: number | undefined;
  if (values.size !== undefined) {
    size = Number(values.size);
    if (!Number.isInteger(size) || size < 1 || size > 100_000) throw new UsageError(`--size must be a whole number 1-100000, got "${values.size}"`);
  }
  const config = cliConfig(io.env);
  const status = await operatorClient(config, io.env).job(id, size);
  if (!status) {
    // --json answers on stdout either way, as status, cancel and replay do.
    if (values.json) io.out(JSON.stringify({ id, error: { code: 'NotFound', message: `no job "${id}"` } }));
    io.err(`executor: no job "${id}" (no task of it seen yet; --size N lists its pending tasks)`);
    return 1;
  }
  if (values.json) io.out(JSON.stringify(status));
  else for (const line of formatJob(status)) io.out(line);
  const bad = (status.counts.failed ?? 0) + (status.counts.cancelled ?? 0);
  return bad > 0 ? 1 : 0;
};

/** Header lines, then one row per task: index, id, name, type, state, attempts, last error. */
export function formatJob(status: JobStatus): string[] {
  const counts = Object.entries(status.counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const labels = status.labels
    ? Object.entries(status.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')
    : '';
  const head = [
    `job       ${status.id}`,
    `tasks     ${status.size} (${counts})`,
    ...(labels ? [`labels    ${labels}`] : []),
    `completed ${status.completedAt ?? '-'}`,
    '',
  ];
  const rows = [['#', 'ID', 'NAME', 'TYPE', 'STATE', 'ATTEMPTS', 'ERROR']];
  for (const task of status.tasks) {
    const attempts = Object.values(task.attempts).reduce((a, b) => a + b, 0);
    const error = task.state === 'succeeded' ? '' : task.error ? `${task.error.code}: ${task.error.message}` : '';
    rows.push([String(task.index), task.id, task.name ?? '-', task.type ?? '-', task.state, String(attempts), error.slice(0, 80)]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return [
    ...head,
    ...rows.map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    ),
  ];
}
