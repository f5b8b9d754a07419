// `executor <command>`: exit 0 = success, 1 = a task failed or was not found,
// 2 = usage or configuration error (DESIGN §6).
import { ConfigError } from '../config.ts';
import { serveCommand } from './serve.ts';
import { devCommand } from './dev.ts';
import { emulatorCommand } from './emulator.ts';

export type Command = (argv: string[], io: CliIo) => Promise<number>;

export interface CliIo {
  env: Record<string, string | undefined>;
  out: (line: string) => void;
  err: (line: string) => void;
}

export class UsageError extends Error {}

const USAGE = `usage: executor <command> [options]

  serve                     run the worker (production; every backend real)
  dev                       emulator + worker + notification sink in one process (npm start)
  emulator                  the local Cloud Tasks emulator alone
  enqueue --type T [--args JSON] [--data JSON|@file|-] [--name ID] [--queue Q]
          [--schedule-time RFC3339] [--watch] [--json]
  status ID [--json]        a task lineage's state and attempts
  cancel ID [--json]        cancel a task lineage
  tail [--json] [--id ID] [--once] [--interval MS]
                            follow notifications (dev sink)
  redrive [ID|--all] [--json]
                            replay dead letters
  doctor                    check queues, deadlines and configuration
  list [--state S] [--type T] [--queue Q] [--since TIME] [--until TIME] [--limit N] [--json] [--watch]
                            runs, newest first
  replay ID [--json]        start a finished run again as a new run
  logs ID [--follow]        a run's output (exec stdout/stderr, ctx.log); --follow streams it

Configuration comes from the environment; see README.md.`;

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  const commands: Record<string, () => Promise<Command>> = {
    serve: async () => serveCommand,
    dev: async () => devCommand,
    emulator: async () => emulatorCommand,
    enqueue: async () => (await import('./enqueue.ts')).enqueueCommand,
    status: async () => (await import('./status.ts')).statusCommand,
    cancel: async () => (await import('./cancel.ts')).cancelCommand,
    tail: async () => (await import('./tail.ts')).tailCommand,
    redrive: async () => (await import('./redrive.ts')).redriveCommand,
    doctor: async () => (await import('./doctor.ts')).doctorCommand,
    list: async () => (await import('./list.ts')).listCommandEntry,
    replay: async () => (await import('./replay.ts')).replayCommand,
    logs: async () => async (argv, io) => (await import('./logs.ts')).logsCommand(argv, io),
  };
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(USAGE);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    io.err(`executor: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  try {
    return await (await load())(rest, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`executor: configuration error: ${err.message}`);
      return 2;
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`executor ${name}: ${(err as Error).message}`);
      return 2;
    }
    io.err(`executor ${name}: ${(err as Error).message}`);
    return 1;
  }
}

function defaultIo(): CliIo {
  return {
    env: process.env,
    out: (l) => process.stdout.write(l + '\n'),
    err: (l) => process.stderr.write(l + '\n'),
  };
}
