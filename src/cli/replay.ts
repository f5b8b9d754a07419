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
      io.err(`executor: ${replayRefusal(id, err)}`);
      return 1;
    }
    throw err;
  }
};

/** The refusal as `<what went wrong> (<what to do>)`, by the API's error code. */
function replayRefusal(id: string, err: OperatorError): string {
  const body = err.body as { error?: { message?: string } } | undefined;
  const message = body?.error?.message ?? err.message;
  if (err.code === 'NotEnded') return `${message} (wait until it ends: executor logs ${id} --follow; or executor cancel ${id})`;
  if (err.code === 'NotReplayable')
    return `"${id}" kept no payload to replay: offloaded, over 64 KiB, or no job of it ever ran (submit it again with executor enqueue)`;
  if (err.status === 404) return `no task lineage "${id}" (unknown, or expired; executor list shows the runs)`;
  return `${message} (executor status ${id})`;
}
