// What every CLI command shares with the entry point (main.ts) without
// importing it: the command signature, its I/O and the usage error.
export type Command = (argv: string[], io: CliIo) => Promise<number>;

export interface CliIo {
  env: Record<string, string | undefined>;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Bad arguments: one line on stderr, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'Usage';
}

/** An entry of the command table: its help, and the module loaded only when it runs. */
export interface CommandSpec {
  /** One line for `executor help`. */
  summary: string;
  /** The synopsis and options for `executor help COMMAND` / `COMMAND --help`. */
  usage: string;
  load: () => Promise<Command>;
}
