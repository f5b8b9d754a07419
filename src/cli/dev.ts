import { parseArgs } from 'node:util';
import { DEV, loadConfig } from '../config.ts';
import { installCrashHandlers } from '../delivery/crash-isolation.ts';
import { devBanner, startDev } from '../dev.ts';
import { createLogger } from '../logger.ts';
import type { Command } from './command.ts';

/** `executor dev [--fresh]` (npm start): everything local, nothing from outside; the emulator's state survives restarts unless --fresh. */
export const devCommand: Command = async (argv, io) => {
  const { values } = parseArgs({ args: argv, options: { fresh: { type: 'boolean' } }, strict: true });
  // Human-readable logs on a terminal, JSON when piped or collected.
  const logger = createLogger({ level: loadConfig(io.env, 'dev').logLevel, pretty: Boolean(process.stdout.isTTY) });
  // As in serve: an error escaping a job fails only its delivery; the process keeps running.
  installCrashHandlers(logger);
  const env = { EMULATOR_STATE: DEV.EMULATOR_STATE, ...io.env };
  const stack = await startDev(env, logger, { handleSignals: false, fresh: values.fresh === true });
  io.out(devBanner(stack));
  await new Promise<void>((resolve) => {
    const stop = () => void stack.stop().then(resolve, resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
};
