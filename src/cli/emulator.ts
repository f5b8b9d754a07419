import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { startEmulator } from '../emulator/index.ts';
import type { Command } from './main.ts';

/** `executor emulator`: the Cloud Tasks emulator alone, on EMULATOR_PORT. */
export const emulatorCommand: Command = async (argv, io) => {
  const config = loadConfig(io.env, 'emulator');
  const logger = createLogger({ level: config.logLevel });
  const emu = await startEmulator({
    host: config.host,
    port: config.emulatorPort,
    logger,
    appEngineUrl: config.emulatorAppEngineUrl,
    locations: [config.location],
    statePath: config.emulatorState,
    fresh: argv.includes('--fresh'),
  });
  io.out(`Cloud Tasks emulator on ${emu.url}  (CLOUD_TASKS_EMULATOR_HOST=127.0.0.1:${emu.port})`);
  await new Promise<void>((resolve) => {
    const stop = () => void emu.close().then(resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
};
