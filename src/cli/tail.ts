// `executor tail [--json] [--id ID] [--once] [--interval MS]`: follow the dev
// notification sink (GET /v1/notifications on SERVICE_URL), one line per new
// CloudEvent, until SIGINT. --once prints what is there and exits (scripts,
// tests). Events are de-duplicated by their id (`<lineage>/<event>`).
import { parseArgs } from 'node:util';
import { OperatorError } from '../client/errors.ts';
import { cliConfig, formatEvent, operatorClient } from './cli-context.ts';
import { type Command, UsageError } from './command.ts';

export const tailCommand: Command = async (argv, io) => {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean' },
      once: { type: 'boolean' },
      id: { type: 'string' },
      interval: { type: 'string' },
    },
    allowPositionals: false,
    strict: true,
  });
  const intervalMs = values.interval === undefined ? 1000 : Number(values.interval);
  if (!Number.isInteger(intervalMs) || intervalMs < 50) throw new UsageError('--interval must be a whole number of milliseconds >= 50');
  const config = cliConfig(io.env);
  const operator = operatorClient(config, io.env);
  const seen = new Set<string>();
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  if (!values.once) process.once('SIGINT', onSigint);
  try {
    for (;;) {
      let events;
      try {
        events = await operator.notifications(values.id ? { id: values.id } : {});
      } catch (err) {
        if (err instanceof OperatorError && err.status === 404) {
          io.err(`executor: ${operator.serviceUrl} has no notification sink (GET /v1/notifications exists in executor dev only)`);
          return 1;
        }
        throw err;
      }
      for (const e of events) {
        if (seen.has(e.id)) continue;
        seen.add(e.id);
        io.out(values.json ? JSON.stringify(e) : formatEvent(e));
      }
      if (values.once || abort.signal.aborted) return 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, intervalMs);
        function done() {
          clearTimeout(timer);
          abort.signal.removeEventListener('abort', done);
          resolve();
        }
        abort.signal.addEventListener('abort', done, { once: true });
      });
      if (abort.signal.aborted) return 0;
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
};
