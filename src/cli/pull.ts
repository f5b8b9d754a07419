import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { createDeps } from '../server.ts';
import type { Command } from './command.ts';

/** `executor pull`: pull mode (Pub/Sub streaming pull). Resolves only when it stops. */
export const pullCommand: Command = async (argv, io) => {
  parseArgs({ args: argv, options: {}, strict: true }); // no options: a stray one is a usage error, not ignored
  const config = loadConfig(io.env, 'pull');
  const logger = createLogger({ level: config.logLevel });
  const { startPull } = await import('../pull/index.ts');
  const deps = await createDeps(config, logger);
  let running;
  try {
    running = await startPull(config, deps, { handleSignals: true });
  } catch (err) {
    await deps.close();
    throw err;
  }
  logger.info(
    {
      url: running.url,
      chain: config.chain.map((t) => `${t.queue}:${t.maxAttempts ?? 'unlimited'}#${t.subscription}`),
      maxConcurrency: config.maxConcurrency,
      maxMessages: config.pullMaxMessages,
      ledger: config.ledger.kind,
    },
    'executor pulling',
  );
  await new Promise<void>((resolve) => running.app.app.server.once('close', resolve));
  return 0;
};
