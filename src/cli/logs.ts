// `executor logs ID [--follow]`: the job's output (exec stdout/stderr, ctx.log
// lines) from GET /v1/tasks/ID/output. --follow streams it until the run ends
// (or SIGINT) and prints status text changes to stderr. Exit 1 when the id is
// unknown or the followed run did not succeed.
import { parseArgs } from 'node:util';
import { OperatorError } from '../client/errors.ts';
import { cliConfig, onePositionalId, operatorClient } from './cli-context.ts';
import type { CliIo } from './command.ts';

export async function logsCommand(argv: string[], io: CliIo, stop?: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { follow: { type: 'boolean', short: 'f' } }, allowPositionals: true, strict: true });
  const id = onePositionalId(positionals, 'logs ID [--follow]');
  const operator = operatorClient(cliConfig(io.env), io.env);
  try {
    if (!values.follow) {
      const text = await operator.logs(id);
      io.out(text.endsWith('\n') ? text.slice(0, -1) : text);
      return 0;
    }
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    stop?.addEventListener('abort', onSigint, { once: true });
    let partial = '';
    try {
      const state = await operator.followLogs(
        id,
        (e) => {
          if (e.event === 'attempt') io.out(`--- ${e.data.queue} attempt ${e.data.attempt} (tier ${e.data.tier}) ---`);
          else if (e.event === 'output') {
            const lines = (partial + e.data.text).split('\n');
            partial = lines.pop()!;
            for (const l of lines) io.out(l);
          } else if (e.event === 'status' && e.data.statusText) io.err(`[status] ${e.data.statusText}`);
        },
        abort.signal,
      );
      if (partial) io.out(partial);
      if (state === undefined) return 0; // interrupted
      io.err(`[${id} ${state}]`);
      return state === 'succeeded' ? 0 : 1;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  } catch (err) {
    if (err instanceof OperatorError && err.status === 404) {
      io.err(`executor: no task lineage "${id}" (not started yet, unknown, or expired; executor list shows the runs)`);
      return 1;
    }
    throw err;
  }
}
