// `executor cancel ID [--json]`: mark the lineage cancelled, delete its queued
// task, abort a running attempt. Exit 1 when the id is unknown or the lineage
// already ended (nothing was cancelled).
import { parseArgs } from 'node:util';
import { OperatorError } from '../client/errors.ts';
import { cliConfig, onePositionalId, operatorClient } from './cli-context.ts';
import type { Command } from './command.ts';

export const cancelCommand: Command = async (argv, io) => {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  const id = onePositionalId(positionals, 'cancel ID [--json]');
  const config = cliConfig(io.env);
  try {
    const outcome = await operatorClient(config, io.env).cancel(id);
    if (values.json) io.out(JSON.stringify(outcome));
    else {
      const parts = [`cancelled ${id}`];
      if (outcome.aborted) parts.push('running attempt aborted');
      if (outcome.deleted?.length) parts.push(`deleted ${outcome.deleted.join(', ')}`);
      io.out(parts.join('; '));
    }
    return 0;
  } catch (err) {
    if (err instanceof OperatorError && (err.status === 404 || err.status === 409)) {
      if (values.json) io.out(JSON.stringify({ id, error: { code: err.code, message: err.message } }));
      const state = (err.body as { state?: string } | undefined)?.state;
      io.err(
        err.status === 404
          ? `executor: no task lineage "${id}" (unknown, or its task already ran and left the queue)`
          : `executor: "${id}" already ${state ?? 'ended'}; nothing to cancel (executor status ${id})`,
      );
      return 1;
    }
    throw err;
  }
};
