// What the bench's figures share: the task they push and how `serve` is configured.

/** A small echo task, as Cloud Tasks delivers it: the task headers, no Content-Type. */
export const ECHO_BODY = JSON.stringify({ type: 'echo', data: { hello: 'world', n: 42 } });

/** `executor serve` with the memory ledger, auth off and default log level: what a user runs. */
export const SERVE_ENV: Record<string, string> = {
  GOOGLE_CLOUD_PROJECT: 'bench-project',
  LOCATION: 'us-central1',
  CHAIN: 'incoming',
  AUTH: 'none',
  ALLOW_UNAUTHENTICATED: '1',
  NOTIFY_QUEUE: '',
  LEDGER: 'memory',
  MAX_CONCURRENCY: '10000',
  // Never contacted (one tier, no forwards); keeps the Tasks client off real Google.
  CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:9',
  HOST: '127.0.0.1',
};

export interface Row {
  figure: string;
  executor: string;
  baseline: string;
  ratio?: number;
  value?: number;
  target: string;
  met?: boolean;
  note?: string;
}
