// `executor <command>`: exit 0 = success, 1 = the operation failed (a task
// failed or was not found, a call was refused), 2 = usage or configuration
// error (DESIGN §6). Every failure is one line on stderr, never a stack trace.
// A command's module (and the Google clients it needs) is imported only when
// that command runs; help and --version load nothing.
import { readFileSync } from 'node:fs';
import type { CliIo, CommandSpec } from './command.ts';
import { explainError } from './errors.ts';

export type { CliIo, Command, CommandSpec } from './command.ts';
export { UsageError } from './command.ts';

const ENV_NOTE = 'Configuration comes from the environment (README "Configuration").';

/**
 * The command table: one entry per command. `usage` starts with
 * `usage: executor NAME` (help and the overview print it); `load` imports the
 * command's module only when it runs, so help and other commands never load
 * its dependencies.
 */
export const COMMANDS: Record<string, CommandSpec> = {
  serve: {
    summary: 'run the worker (production; every backend real)',
    usage: `usage: executor serve\n\nRuns the worker on HOST:PORT with the backends the environment names (LEDGER, BUCKET/BLOB_DIR,\nNOTIFY_*). Needs GOOGLE_CLOUD_PROJECT, LOCATION and, with AUTH=oidc (the default), OIDC_INVOKERS and\nSERVICE_URL or OIDC_AUDIENCE. SIGTERM stops it gracefully within SHUTDOWN_GRACE.`,
    load: async () => (await import('./serve.ts')).serveCommand,
  },
  dev: {
    summary: 'emulator + worker + notification sink in one process (npm start)',
    usage: `usage: executor dev [--fresh]\n\nStarts the Cloud Tasks emulator (EMULATOR_PORT, default 8123), the worker (PORT, default 8080) and a\nnotification sink, on 127.0.0.1 unless HOST says otherwise, with the queues of CHAIN and notifier\ncreated and a local blob directory (BLOB_DIR). Prints the commands to enqueue. Ctrl-C stops it.\nThe emulator's queues and tasks are kept in EMULATOR_STATE (default .executor/emulator-state.json);\n--fresh starts them empty.`,
    load: async () => (await import('./dev.ts')).devCommand,
  },
  pull: {
    summary: 'run the worker from Pub/Sub subscriptions (streaming pull)',
    usage: `usage: executor pull\n\nRuns the delivery decision from the Pub/Sub subscription of each CHAIN tier (queue#subscription),\nat most MAX_CONCURRENCY jobs at once (PULL_MAX_MESSAGES outstanding per subscription). An exhausted\nmessage is published to the next tier's topic before it is acked. Serves /healthz, /readyz,\n/metrics and the /v1 operator API on HOST:PORT (AUTH as in serve). SIGTERM stops pulling and\ndrains within SHUTDOWN_GRACE.`,
    load: async () => (await import('./pull.ts')).pullCommand,
  },
  emulator: {
    summary: 'the local Cloud Tasks emulator alone',
    usage: `usage: executor emulator [--fresh]\n\nThe Cloud Tasks REST emulator (v2, v2beta3) on HOST:EMULATOR_PORT (default 127.0.0.1:8123). Point clients\nat it with CLOUD_TASKS_EMULATOR_HOST=127.0.0.1:8123. App Engine tasks go to EMULATOR_APP_ENGINE_URL; with\nEMULATOR_STATE its state survives restarts (--fresh starts empty). Ctrl-C stops it.`,
    load: async () => (await import('./emulator.ts')).emulatorCommand,
  },
  enqueue: {
    summary: 'submit one task',
    usage: `usage: executor enqueue --type T [--args JSON] [--data JSON|@file|-] [--name ID] [--queue Q]\n                        [--schedule-time RFC3339] [--watch] [--json]\n\n  --type T               the job type (echo, http, exec, or one of JOBS_MODULE)\n  --args JSON            the job's arguments, a JSON object\n  --data JSON|@file|-    the job's data: inline JSON, a JSON file, or JSON on stdin\n  --name ID              the lineage id (default: a new UUID); a name in use creates nothing\n                         (said on stderr, exit 0: a retried submission is not run twice)\n  --queue Q              the queue to submit to (default: the first of CHAIN)\n  --schedule-time T      run no earlier than T (RFC 3339)\n  --watch                wait until the task ends: exit 0 succeeded, 1 failed or cancelled\n  --json                 print JSON instead of text\n\nPrints the lineage id. Needs SERVICE_URL, and CLOUD_TASKS_EMULATOR_HOST or GOOGLE_CLOUD_PROJECT and\nLOCATION. Data over OFFLOAD_THRESHOLD goes to BLOB_DIR or BUCKET.`,
    load: async () => (await import('./enqueue.ts')).enqueueCommand,
  },
  status: {
    summary: "a task lineage's state and attempts",
    usage: `usage: executor status ID [--json]\n\nState, tier, attempts per tier, last error and dead letters of the lineage ID, from SERVICE_URL.\nExit 1 when the service does not know ID.`,
    load: async () => (await import('./status.ts')).statusCommand,
  },
  cancel: {
    summary: 'cancel a task lineage',
    usage: `usage: executor cancel ID [--json]\n\nMarks the lineage cancelled, aborts a running attempt and deletes its queued task (SERVICE_URL).\nExit 1 when ID is unknown or already ended.`,
    load: async () => (await import('./cancel.ts')).cancelCommand,
  },
  tail: {
    summary: 'follow notifications (dev sink)',
    usage: `usage: executor tail [--json] [--id ID] [--once] [--interval MS]\n\nPrints each notification the dev sink (GET SERVICE_URL/v1/notifications) received, until Ctrl-C.\n  --id ID         only this lineage's\n  --once          print what is there and exit\n  --interval MS   poll interval (default 1000)`,
    load: async () => (await import('./tail.ts')).tailCommand,
  },
  redrive: {
    summary: 'replay dead letters',
    usage: `usage: executor redrive [ID|--all] [--json]\n\nReplays the forwards and notifications that failed, of one lineage or all (SERVICE_URL).\nExit 1 when any failed again.`,
    load: async () => (await import('./redrive.ts')).redriveCommand,
  },
  list: {
    summary: 'runs, newest first (filters, --watch)',
    usage: `usage: executor list [--state S] [--type T] [--queue Q] [--since TIME] [--until TIME] [--limit N] [--json] [--watch]\n\nThe runs SERVICE_URL knows, newest first (GET /v1/tasks), as a table.\n  --state S       running, retrying, throttled, succeeded, failed, forwarded or cancelled\n  --type T        job type\n  --queue Q       queue of the run's latest tier\n  --since/--until created at or after / before TIME (ISO 8601)\n  --limit N       rows (default 20, at most 500)\n  --json          the page as JSON (with --watch: one JSON line per run)\n  --watch         then one line per new run or change of state, until Ctrl-C`,
    load: async () => (await import('./list.ts')).listCommandEntry,
  },
  logs: {
    summary: "a run's output (exec stdout/stderr, ctx.log)",
    usage: `usage: executor logs ID [--follow]\n\nThe output of the lineage ID so far, one header line per attempt (GET SERVICE_URL/v1/tasks/ID/output).\n  --follow, -f    stream it until the run ends (status text on stderr); exit 1 unless it succeeded`,
    load: async () => async (argv, io) => (await import('./logs.ts')).logsCommand(argv, io),
  },
  replay: {
    summary: 'start a finished run again as a new run',
    usage: `usage: executor replay ID [--json]\n\nEnqueues the first envelope of the finished lineage ID again as a new lineage (replayOf: ID).\nExit 1 when ID is unknown, still running, or kept no replayable payload.`,
    load: async () => (await import('./replay.ts')).replayCommand,
  },
  job: {
    summary: "a job's tasks as a table",
    usage: `usage: executor job ID [--size N] [--json]\n\nThe tasks of job ID (SERVICE_URL): state, attempts and last error of each, and the job's state.\n  --size N   the number of tasks, for a job no worker has seen yet\n  --json     print JSON instead of a table\nExit 1 when the job failed or is unknown.`,
    load: async () => (await import('./job.ts')).jobCommand,
  },
  doctor: {
    summary: 'check queues, deadlines and configuration',
    usage: `usage: executor doctor\n\nChecks that each queue of CHAIN exists with enough maxAttempts, the notifier queue and topic, and\nJOB_TIMEOUT < dispatchDeadline <= REQUEST_TIMEOUT. Prints what to fix; exit 1 on any failure.`,
    load: async () => (await import('./doctor.ts')).doctorCommand,
  },
};

function overview(): string {
  return [
    'usage: executor <command> [options]',
    '',
    ...Object.values(COMMANDS).flatMap((spec) => {
      const synopsis = spec.usage.split('\n')[0]!.replace(/^usage: executor /, '');
      return synopsis.length < 24 ? [`  ${synopsis.padEnd(24)}${spec.summary}`] : [`  ${synopsis}`, `  ${''.padEnd(24)}${spec.summary}`];
    }),
    '',
    '  help COMMAND            options of one command (or: executor COMMAND --help)',
    '  --version               the version of this package',
    '',
    `${ENV_NOTE} Exit 0 = success, 1 = the operation failed, 2 = usage or configuration error.`,
  ].join('\n');
}

function helpOf(name: string): string {
  return `${COMMANDS[name]!.usage}\n\n${ENV_NOTE}`;
}

/** The package's version, from its package.json (two levels up in src/ and in dist/). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

const isHelp = (a: string | undefined) => a === '--help' || a === '-h';

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    io.err('executor: no command given (executor help lists them)');
    return 2;
  }
  if (isHelp(name)) {
    io.out(overview());
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    io.out(version());
    return 0;
  }
  if (name === 'help') {
    const topic = rest[0];
    if (!topic) {
      io.out(overview());
      return 0;
    }
    if (!Object.hasOwn(COMMANDS, topic)) {
      io.err(`executor: unknown command "${topic}" (executor help lists them)`);
      return 2;
    }
    io.out(helpOf(topic));
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    io.err(`executor: unknown command "${name}" (executor help lists them)`);
    return 2;
  }
  // `--help` anywhere before a `--` asks for help and starts nothing.
  const end = rest.indexOf('--');
  if ((end === -1 ? rest : rest.slice(0, end)).some(isHelp)) {
    io.out(helpOf(name));
    return 0;
  }
  try {
    const command = await COMMANDS[name]!.load();
    return await command(rest, io);
  } catch (err) {
    const { line, exitCode } = explainError(err, { command: name, env: io.env });
    io.err(line);
    return exitCode;
  }
}

function defaultIo(): CliIo {
  return {
    env: process.env,
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
  };
}
