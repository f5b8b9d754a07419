// `executor redrive [ID|--all] [--json]`: replay dead letters (forwards or
// notifications that failed) of one lineage or all of them. Exit 1 when any
// replay failed again.
import { parseArgs } from 'node:util';
import { cliConfig, onePositionalId, operatorClient } from './cli-context.ts';
import { type Command, UsageError } from './command.ts';

export const redriveCommand: Command = async (argv, io) => {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { all: { type: 'boolean' }, json: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.all && positionals.length) throw new UsageError('give either an ID or --all, not both');
  if (!values.all && positionals.length === 0) throw new UsageError('usage: executor redrive ID | executor redrive --all');
  const id = values.all ? undefined : onePositionalId(positionals, 'redrive ID|--all');
  const config = cliConfig(io.env);
  const outcome = await operatorClient(config, io.env).redrive(id);
  if (values.json) io.out(JSON.stringify(outcome));
  else if (outcome.redriven === 0 && outcome.failed === 0) io.out(`no dead letters${id ? ` for ${id}` : ''}; nothing to redrive`);
  else io.out(`redriven ${outcome.redriven}, failed ${outcome.failed}${outcome.failed ? ' (they stay dead letters; see executor status ID)' : ''}`);
  return outcome.failed > 0 ? 1 : 0;
};
