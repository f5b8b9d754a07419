import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { createDeps, startServer } from '../server.ts';
import type { Command } from './command.ts';

/** `executor serve`: production. Resolves only when the server stops. */
export const serveCommand: Command = async (argv, io) => {
  parseArgs({ args: argv, options: {}, strict: true }); // no options: a stray one is a usage error, not ignored
  const config = loadConfig(io.env, 'serve');
  const logger = createLogger({ level: config.logLevel });
  const deps = await createDeps(config, logger);
  const server = await startServer(config, deps, { handleSignals: true });
  logger.info(
    { url: server.url, chain: config.chain.map((t) => `${t.queue}:${t.maxAttempts ?? 'unlimited'}`), ledger: config.ledger.kind, auth: config.auth.mode },
    'executor serving',
  );
  await new Promise<void>((resolve) => server.app.app.server.once('close', resolve));
  return 0;
};
