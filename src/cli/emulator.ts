import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { installCrashHandlers } from '../delivery/crash-isolation.ts';
import { StateFileError, startEmulator } from '../emulator/index.ts';
import { createLogger } from '../logger.ts';
import type { Command } from './command.ts';

/** `executor emulator`: the Cloud Tasks emulator alone, on EMULATOR_PORT. */
export const emulatorCommand: Command = async (argv, io) => {
  const { values } = parseArgs({ args: argv, options: { fresh: { type: 'boolean' } }, strict: true });
  const config = loadConfig(io.env, 'emulator');
  const logger = createLogger({ level: config.logLevel, pretty: Boolean(process.stdout.isTTY) });
  // A stray error is logged; the emulator keeps serving (its queues are the user's state).
  installCrashHandlers(logger);
  let emu;
  try {
    emu = await startEmulator({
      host: config.host,
      port: config.emulatorPort,
      logger,
      appEngineUrl: config.emulatorAppEngineUrl,
      locations: [config.location],
      statePath: config.emulatorState,
      maxDispatchesPerSecond: config.emulatorMaxRate,
      fresh: values.fresh === true,
    });
  } catch (err) {
    if (err instanceof StateFileError) throw new ConfigError('EMULATOR_STATE', err.message);
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new ConfigError('EMULATOR_PORT', `port ${config.emulatorPort} on ${config.host} is already in use by another process`);
  }
  io.out(`Cloud Tasks emulator on ${emu.url}  (CLOUD_TASKS_EMULATOR_HOST=127.0.0.1:${emu.port})`);
  await new Promise<void>((resolve) => {
    const stop = () => void emu.close().then(resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
};
