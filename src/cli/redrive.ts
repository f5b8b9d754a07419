// `executor redrive [ID|--all] [--json]`: replay dead letters (forwards or
// notifications that failed) of one lineage or all of them. Exit 1 when any
// replay failed again, or when no lineage has the ID.
import { parseArgs } from 'node:util';
import { OperatorError } from '../client/errors.ts';
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
  let outcome: Awaited<ReturnType<ReturnType<typeof operatorClient>['redrive']>>;
  try {
    outcome = await operatorClient(config, io.env).redrive(id);
  } catch (err) {
    if (!(err instanceof OperatorError && err.status === 404 && id)) throw err;
    if (values.json) io.out(JSON.stringify({ id, error: { code: 'NotFound', message: `no task lineage "${id}"` } }));
    io.err(`executor: no task lineage "${id}" (unknown, or expired; executor list shows the runs)`);
    return 1;
  }
  if (values.json) io.out(JSON.stringify(outcome));
  else if (outcome.redriven === 0 && outcome.failed === 0) io.out(`no dead letters${id ? ` for ${id}` : ''}; nothing to redrive`);
  else io.out(`redriven ${outcome.redriven}, failed ${outcome.failed}${outcome.failed ? ' (they stay dead letters; see executor status ID)' : ''}`);
  return outcome.failed > 0 ? 1 : 0;
};
