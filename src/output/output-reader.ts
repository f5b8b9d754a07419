// Reading a lineage's output: every attempt in the ledger's history, chunk by
// chunk from the store, plus what the attempt running in this process has not
// flushed yet. `followOutput` polls until the lineage ended and its output is
// all sent (Server-Sent Events in routes/operator.ts).
import { StringDecoder } from 'node:string_decoder';
import type { AttemptLedger, LineageRecord } from '../interfaces.ts';
import { isEnded } from '../ledger/lineage-rules.ts';
import type { OutputEvent } from '../schemas/operator.ts';
import { chunkKey } from './chunk-store.ts';
import type { OutputHub } from './output-hub.ts';

interface Cursor {
  id: string;
  createdAt: string;
  tier: number;
  attempt: number;
  nextSeq: number;
  /** Bytes covered by the chunks read so far. */
  chunkEnd: number;
  /** Bytes handed to the reader (chunks and unflushed bytes). */
  emitted: number;
  decoder: StringDecoder;
  idleTicks: number;
  done: boolean;
}

function cursor(id: string, createdAt: string, tier: number, attempt: number): Cursor {
  return { id, createdAt, tier, attempt, nextSeq: 0, chunkEnd: 0, emitted: 0, decoder: new StringDecoder('utf8'), idleTicks: 0, done: false };
}

/** Bytes of the attempt not handed out yet. */
async function readNew(hub: OutputHub, c: Cursor): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const bytes = await hub.store.get(chunkKey(c.id, c.createdAt, c.tier, c.attempt, c.nextSeq));
    if (!bytes) break;
    c.nextSeq++;
    const start = c.chunkEnd;
    c.chunkEnd += bytes.length;
    if (c.chunkEnd > c.emitted) {
      parts.push(bytes.subarray(Math.max(0, c.emitted - start)));
      c.emitted = c.chunkEnd;
    }
  }
  const local = hub.local(c.id, c.tier, c.attempt);
  if (local) {
    const end = local.flushedBytes + local.pending.length;
    // Only when the flushed part was all read: otherwise the next poll reads it first.
    if (c.emitted >= local.flushedBytes && end > c.emitted) {
      parts.push(local.pending.subarray(c.emitted - local.flushedBytes));
      c.emitted = end;
    }
  }
  return Buffer.concat(parts);
}

function attemptsOf(record: LineageRecord): Array<{ tier: number; attempt: number; queue: string; finished: boolean }> {
  const seen = new Map<string, { tier: number; attempt: number; queue: string; finished: boolean }>();
  for (const h of record.history) {
    if (h.outcome === 'duplicate') continue;
    seen.set(`${h.tier}/${h.attempt}`, { tier: h.tier, attempt: h.attempt, queue: h.queue, finished: h.finishedAt !== undefined });
  }
  return [...seen.values()];
}

export function attemptHeader(a: { tier: number; attempt: number; queue: string }): string {
  return `--- ${a.queue} attempt ${a.attempt} (tier ${a.tier}) ---\n`;
}

/** The whole output so far as text; undefined for an unknown lineage. */
export async function readOutput(hub: OutputHub, ledger: AttemptLedger, id: string): Promise<string | undefined> {
  const record = await ledger.get(id);
  if (!record) return undefined;
  const parts: string[] = [];
  for (const a of attemptsOf(record)) {
    const bytes = await readNew(hub, cursor(id, record.createdAt, a.tier, a.attempt));
    parts.push(attemptHeader(a), bytes.toString('utf8'));
    if (bytes.length && bytes[bytes.length - 1] !== 0x0a) parts.push('\n');
  }
  return parts.join('');
}

/** Send the output as it grows until the lineage ended and all of it was sent, or `signal` aborts. */
export async function followOutput(
  hub: OutputHub,
  ledger: AttemptLedger,
  id: string,
  send: (e: OutputEvent) => void,
  signal: AbortSignal,
  pollMs = 200,
): Promise<void> {
  const cursors = new Map<string, Cursor>();
  let lastStatus = '';
  while (!signal.aborted) {
    const record = await ledger.get(id);
    if (!record) {
      send({ event: 'end', data: { state: 'unknown' } });
      return;
    }
    const ended = isEnded(record.state);
    for (const a of attemptsOf(record)) {
      const key = `${a.tier}/${a.attempt}`;
      let c = cursors.get(key);
      if (!c) {
        cursors.set(key, (c = cursor(id, record.createdAt, a.tier, a.attempt)));
        send({ event: 'attempt', data: { tier: a.tier, attempt: a.attempt, queue: a.queue } });
      }
      if (c.done) continue;
      const text = c.decoder.write(await readNew(hub, c));
      if (text) {
        c.idleTicks = 0;
        send({ event: 'output', data: { tier: a.tier, attempt: a.attempt, text } });
      } else {
        c.idleTicks++;
        // Written before the ledger recorded the finish, so nothing more comes;
        // an attempt that never finishes (its instance died) is given up 5 s after the lineage ended.
        if (a.finished || (ended && c.idleTicks * pollMs >= 5000)) c.done = true;
      }
    }
    const local = hub.isRunningHere(id) ? [...cursors.values()].map((c) => hub.local(id, c.tier, c.attempt)?.statusText).find(Boolean) : undefined;
    const statusText = local ?? record.statusText;
    const status = JSON.stringify({ state: record.state, ...(statusText !== undefined ? { statusText } : {}) });
    if (status !== lastStatus) {
      lastStatus = status;
      send({ event: 'status', data: JSON.parse(status) });
    }
    if (ended && [...cursors.values()].every((c) => c.done)) {
      send({ event: 'end', data: { state: record.state } });
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, pollMs);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
