// `executor replay ID [--json]`: start a finished lineage again as a new
// lineage (POST /v1/tasks/ID:replay). Exit 1 when the id is unknown, still
// running, or kept no replayable payload.
import { parseArgs } from 'node:util';
import { OperatorError } from '../client/errors.ts';
import { cliConfig, onePositionalId, operatorClient } from './cli-context.ts';
import type { Command } from './command.ts';

export const replayCommand: Command = async (argv, io) => {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  const id = onePositionalId(positionals, 'replay ID');
  const config = cliConfig(io.env);
  try {
    const reply = await operatorClient(config, io.env).replay(id);
    io.out(values.json ? JSON.stringify(reply) : `replayed ${id} as ${reply.id} (queue ${reply.queue}); executor status ${reply.id}`);
    return 0;
  } catch (err) {
    if (err instanceof OperatorError && (err.status === 404 || err.status === 409)) {
      if (values.json) io.out(JSON.stringify({ id, error: { code: err.code, message: err.message } }));
      const body = err.body as { error?: { message?: string } } | undefined;
      io.err(`executor replay: ${body?.error?.message ?? err.message}`);
      return 1;
    }
    throw err;
  }
};
