import { createLogger } from '../logger.ts';
import { devBanner, startDev } from '../dev.ts';
import type { Command } from './main.ts';

/** `executor dev` (npm start): everything local, nothing from outside. */
export const devCommand: Command = async (_argv, io) => {
  const logger = createLogger({ level: io.env.LOG_LEVEL ?? 'info' });
  const stack = await startDev(io.env, logger, { handleSignals: false });
  io.out(devBanner(stack));
  await new Promise<void>((resolve) => {
    const stop = () => void stack.stop().then(resolve, resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
};
