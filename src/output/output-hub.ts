// Live output of running jobs (DESIGN §9): exec stdout/stderr, ctx.log lines
// and status text. Each attempt's output is appended in memory and flushed in
// chunks (every flushMs or flushBytes) to the chunk store, so any instance can
// serve it; the running instance also serves what is not flushed yet. An
// attempt keeps at most limitBytes, then a truncation marker.
import type { Logger } from 'pino';
import type { AttemptLedger, Clock, Job } from '../interfaces.ts';
import { type ChunkStore, chunkKey } from './chunk-store.ts';

export interface OutputHubOptions {
  store: ChunkStore;
  ledger: AttemptLedger;
  clock: Clock;
  logger: Logger;
  /** OUTPUT_LIMIT: bytes kept per attempt. */
  limitBytes: number;
  flushMs?: number;
  flushBytes?: number;
  /** statusText reaches the ledger at most this often (default 1 s). */
  statusIntervalMs?: number;
}

interface AttemptInput {
  id: string;
  createdAt: string;
  tier: number;
  attempt: number;
  job?: Job;
  log: Logger;
}

export interface AttemptOutput {
  /** ctx.log for the job: every line also goes to the output. */
  log: Logger;
  setStatus(text: string): void;
  /** Flush what is left and stop the timers. */
  end(): Promise<void>;
}

/** What the running instance has not flushed yet, for readers on this instance. */
export interface LocalView {
  flushedBytes: number;
  pending: Buffer;
  statusText?: string;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export function createOutputHub(opts: OutputHubOptions) {
  const flushMs = opts.flushMs ?? 1000;
  const flushBytes = opts.flushBytes ?? 16 * 1024;
  const statusMs = opts.statusIntervalMs ?? 1000;
  const active = new Map<string, Writer>(); // by lineage id: the latest attempt here
  const byAttempt = new Map<string, Writer>();
  const jobEndListeners = new Set<(e: { type: string; tier: number; seconds: number }) => void>();

  class Writer {
    readonly id: string;
    readonly tier: number;
    readonly attempt: number;
    readonly createdAt: string;
    #seq = 0;
    #total = 0;
    #truncated = false;
    flushedBytes = 0;
    #pending: Buffer[] = [];
    #pendingBytes = 0;
    #chain: Promise<void> = Promise.resolve();
    #retryItems = 0;
    statusText: string | undefined;
    #statusWritten: string | undefined;
    #lastStatusWrite = 0;
    #statusTimer: NodeJS.Timeout | undefined;

    constructor(id: string, createdAt: string, tier: number, attempt: number) {
      this.id = id;
      this.createdAt = createdAt;
      this.tier = tier;
      this.attempt = attempt;
    }

    append(text: string): void {
      if (this.#truncated || text.length === 0) return;
      let bytes = Buffer.from(text, 'utf8');
      if (this.#total + bytes.length > opts.limitBytes) {
        bytes = Buffer.concat([
          bytes.subarray(0, opts.limitBytes - this.#total),
          Buffer.from(`\n[output truncated: OUTPUT_LIMIT of ${opts.limitBytes} bytes reached]\n`),
        ]);
        this.#truncated = true;
      }
      this.#total += bytes.length;
      this.#pending.push(bytes);
      this.#pendingBytes += bytes.length;
      if (this.#pendingBytes >= flushBytes) this.flush();
    }

    hasPending(): boolean {
      return this.#pending.length > 0;
    }

    /** Queue a flush of everything pending; puts run one at a time, in order. */
    flush(): Promise<void> {
      // Nothing pending (a retried chunk stays pending until stored): no promise
      // chain for a silent attempt.
      if (this.#pending.length === 0) return this.#chain;
      this.#chain = this.#chain.then(async () => {
        // A chunk whose put failed is retried with exactly the same bytes: the
        // store may have kept it (GCS writes are create-if-absent by key).
        const n = this.#retryItems || this.#pending.length;
        if (n === 0) return;
        const bytes = Buffer.concat(this.#pending.slice(0, n));
        this.#retryItems = n;
        try {
          await opts.store.put(chunkKey(this.id, this.createdAt, this.tier, this.attempt, this.#seq), bytes);
        } catch (err) {
          opts.logger.warn({ err: { message: (err as Error).message }, lineage: this.id }, 'output chunk not stored; retried on the next flush');
          return;
        }
        this.#retryItems = 0;
        this.#seq++;
        this.flushedBytes += bytes.length;
        this.#pending.splice(0, n);
        this.#pendingBytes -= bytes.length;
      });
      return this.#chain;
    }

    local(): LocalView {
      return {
        flushedBytes: this.flushedBytes,
        pending: Buffer.concat(this.#pending),
        ...(this.statusText !== undefined ? { statusText: this.statusText } : {}),
      };
    }

    setStatus(text: string): void {
      const clipped = text.length > 500 ? `${text.slice(0, 497)}...` : text;
      this.statusText = clipped;
      if (this.#statusTimer) return;
      const wait = Math.max(0, this.#lastStatusWrite + statusMs - opts.clock.now());
      this.#statusTimer = setTimeout(() => void this.writeStatus(), wait);
      this.#statusTimer.unref();
    }

    async writeStatus(): Promise<void> {
      this.#statusTimer = undefined;
      const text = this.statusText;
      if (text === undefined || text === this.#statusWritten) return;
      this.#lastStatusWrite = opts.clock.now();
      this.#statusWritten = text;
      await opts.ledger.setStatusText(this.id, text, this.#lastStatusWrite).catch((err) => {
        opts.logger.warn({ err: { message: (err as Error).message }, lineage: this.id }, 'status text not stored');
      });
    }

    async end(): Promise<void> {
      if (this.#statusTimer) clearTimeout(this.#statusTimer);
      await this.writeStatus();
      await this.flush();
    }
  }

  /** A logger whose level methods also append a line to the output. */
  function teeLogger(log: Logger, w: Writer): Logger {
    return new Proxy(log, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof prop !== 'string' || !(LEVELS as readonly string[]).includes(prop) || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          // The job's own lines at info and above belong in its output whatever LOG_LEVEL says.
          if (target.isLevelEnabled(prop) || !['debug', 'trace'].includes(prop)) w.append(formatLine(prop, args));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  // One ticker for the whole hub, running while attempts run here: it flushes
  // what is pending and polls status() of jobs that only answer that (Spin
  // Cycle style). A timer per attempt cost a Timeout and closures per delivery.
  const polled = new Map<Writer, Job | undefined>();
  let ticker: NodeJS.Timeout | undefined;
  function tick(): void {
    for (const [w, job] of polled) {
      if (w.hasPending()) void w.flush();
      if (job) {
        try {
          const s = job.status();
          if (typeof s === 'string' && s && s !== 'running' && s !== w.statusText) w.setStatus(s);
        } catch {
          // a job's status() must not break its run
        }
      }
    }
  }
  function poll(w: Writer, job: Job | undefined): void {
    polled.set(w, job);
    if (!ticker) {
      ticker = setInterval(tick, Math.min(flushMs, statusMs));
      ticker.unref();
    }
  }
  function unpoll(w: Writer): void {
    polled.delete(w);
    if (polled.size === 0 && ticker) {
      clearInterval(ticker);
      ticker = undefined;
    }
  }

  /**
   * One attempt's handle. A class: an object literal with a `log` getter and
   * an async closure per attempt was ~1% of a push's CPU (PROFILE.md round 3).
   */
  class Attempt implements AttemptOutput {
    readonly #w: Writer;
    readonly #input: AttemptInput;
    readonly #key: string;
    readonly #startedAt = performance.now();
    #tee: Logger | undefined;
    constructor(w: Writer, input: AttemptInput, key: string) {
      this.#w = w;
      this.#input = input;
      this.#key = key;
    }
    // The tee is made when the job first uses ctx.log.
    get log(): Logger {
      this.#tee ??= teeLogger(this.#input.log, this.#w);
      return this.#tee;
    }
    /** Bound: handed to the job as ctx.setStatus. */
    readonly setStatus = (text: string): void => this.#w.setStatus(String(text));
    async end(): Promise<void> {
      const w = this.#w;
      const input = this.#input;
      unpoll(w);
      const seconds = (performance.now() - this.#startedAt) / 1000;
      for (const l of jobEndListeners) l({ type: input.job?.type ?? 'unknown', tier: input.tier, seconds });
      await w.end();
      if (active.get(input.id) === w) active.delete(input.id);
      byAttempt.delete(this.#key);
    }
  }

  return {
    /** `createdAt`: the lineage record's (readers find the chunks through it). */
    start(input: AttemptInput): AttemptOutput {
      const w = new Writer(input.id, input.createdAt, input.tier, input.attempt);
      const key = `${input.id}/${input.tier}/${input.attempt}`;
      active.set(input.id, w);
      byAttempt.set(key, w);
      poll(w, input.job);
      return new Attempt(w, input, key);
    },

    /** Exec output of the lineage's attempt running here (ExecJobOptions.onOutput). */
    write(id: string, stream: 'stdout' | 'stderr', chunk: string): void {
      void stream; // one interleaved stream, as a terminal shows it
      active.get(id)?.append(chunk);
    },

    local(id: string, tier: number, attempt: number): LocalView | undefined {
      return byAttempt.get(`${id}/${tier}/${attempt}`)?.local();
    },

    /** Called when a job run ends (metrics: job duration). Returns the unsubscribe. */
    onJobEnd(listener: (e: { type: string; tier: number; seconds: number }) => void): () => void {
      jobEndListeners.add(listener);
      return () => jobEndListeners.delete(listener);
    },

    /** Lineages with an attempt running in this process. */
    runningIds(): Iterable<string> {
      return active.keys();
    },

    /** Is an attempt of this lineage running in this process? */
    isRunningHere(id: string): boolean {
      return active.has(id);
    },

    store: opts.store,
  };
}

export type OutputHub = ReturnType<typeof createOutputHub>;

function formatLine(level: string, args: unknown[]): string {
  const [first, second] = args;
  let msg = '';
  let fields = '';
  if (typeof first === 'string') msg = first;
  else {
    if (typeof second === 'string') msg = second;
    if (first instanceof Error) fields = ` ${first.message}`;
    else if (first && typeof first === 'object') {
      const json = JSON.stringify(first);
      fields = ` ${json.length > 1024 ? `${json.slice(0, 1021)}...` : json}`;
    }
  }
  return `${level.toUpperCase()} ${msg}${fields}\n`;
}
