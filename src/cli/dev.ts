import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { devBanner, startDev } from '../dev.ts';
import type { Command } from './command.ts';

/** `executor dev` (npm start): everything local, nothing from outside. */
export const devCommand: Command = async (_argv, io) => {
  // Human-readable logs on a terminal, JSON when piped or collected.
  const logger = createLogger({ level: loadConfig(io.env, 'dev').logLevel, pretty: Boolean(process.stdout.isTTY) });
  const stack = await startDev(io.env, logger, { handleSignals: false });
  io.out(devBanner(stack));
  await new Promise<void>((resolve) => {
    const stop = () => void stack.stop().then(resolve, resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
};
