import { DEV_EMULATOR_STATE } from '../config.ts';
import { createLogger } from '../logger.ts';
import { devBanner, startDev } from '../dev.ts';
import type { Command } from './main.ts';

/** `executor dev [--fresh]` (npm start): everything local, nothing from outside; the emulator's state survives restarts unless --fresh. */
export const devCommand: Command = async (argv, io) => {
  const logger = createLogger({ level: io.env.LOG_LEVEL ?? 'info' });
  const env = { EMULATOR_STATE: DEV_EMULATOR_STATE, ...io.env };
  const stack = await startDev(env, logger, { handleSignals: false, fresh: argv.includes('--fresh') });
  io.out(devBanner(stack));
  await new Promise<void>((resolve) => {
    const stop = () => void stack.stop().then(resolve, resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
};
