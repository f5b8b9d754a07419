// EMULATOR_STATE: the emulator's whole state as one JSON file, written
// atomically (temp file + rename) a moment after each change, so a restart
// finds every queue, task and tombstone where it was. Buffers (task bodies)
// are written as {"$b64": "..."}.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes are coalesced: a burst of creates costs one write. A large state takes
 * long to write (10,000 tasks with 1 KiB bodies: about 0.5-1 s, synchronous), so
 * the pause after a write grows with it and writing stays near a tenth of the time.
 */
const WRITE_DELAY_MS = 50;
const WRITE_SHARE = 10;

export class StateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateFileError';
  }
}

function replacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return Buffer.isBuffer(raw) ? { $b64: raw.toString('base64') } : value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && typeof (value as { $b64?: unknown }).$b64 === 'string' && Object.keys(value).length === 1) {
    return Buffer.from((value as { $b64: string }).$b64, 'base64');
  }
  return value;
}

export class StateFile {
  readonly path: string;
  readonly #snapshot: () => unknown;
  #timer?: NodeJS.Timeout;
  #delayMs = WRITE_DELAY_MS;
  #onError: (err: Error) => void;

  constructor(path: string, snapshot: () => unknown, onError: (err: Error) => void) {
    this.path = path;
    this.#snapshot = snapshot;
    this.#onError = onError;
  }

  /** The saved state, or undefined when there is no file yet. A file that cannot be read stops start-up and is left as it is. */
  load(): unknown {
    if (!existsSync(this.path)) return undefined;
    try {
      return JSON.parse(readFileSync(this.path, 'utf8'), reviver);
    } catch (err) {
      throw new StateFileError(`cannot read ${this.path} (${(err as Error).message}); move it away or start with --fresh`);
    }
  }

  /** Ask for a write soon. */
  changed(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#delayMs);
    // A pending write must not keep the process alive; close() flushes.
    this.#timer.unref();
  }

  /** Write now (also on close). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const started = Date.now();
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.#snapshot(), replacer));
      renameSync(tmp, this.path);
    } catch (err) {
      this.#onError(err as Error);
    }
    this.#delayMs = Math.max(WRITE_DELAY_MS, (Date.now() - started) * WRITE_SHARE);
  }
}
