// `executor status ID [--json]`: the lineage's record from the operator API.
// Exit 0 when found (whatever its state), 1 when the service does not know it.
import { parseArgs } from 'node:util';
import { cliConfig, formatRecord, onePositionalId, operatorClient } from './cli-context.ts';
import type { Command } from './command.ts';

export const statusCommand: Command = async (argv, io) => {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  const id = onePositionalId(positionals, 'status ID [--json]');
  const config = cliConfig(io.env);
  const record = await operatorClient(config, io.env).status(id);
  if (!record) {
    if (values.json) io.out(JSON.stringify({ id, error: { code: 'NotFound', message: `no task lineage "${id}"` } }));
    io.err(`executor: no task lineage "${id}" (not started yet, unknown, or expired)`);
    return 1;
  }
  if (values.json) io.out(JSON.stringify(record));
  else for (const line of formatRecord(record, config.chain)) io.out(line);
  return 0;
};
