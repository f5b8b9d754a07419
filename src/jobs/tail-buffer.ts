// Keeps the last `max` bytes written to it: a job's output is most useful at
// its end (the error), and memory must stay bounded however much it prints.
export interface TailBuffer {
  push(chunk: Buffer): void;
  /** Bytes thrown away from the front so far. */
  readonly dropped: number;
  text(): string;
}

export function createTailBuffer(max: number): TailBuffer {
  const chunks: Buffer[] = [];
  let size = 0;
  let dropped = 0;
  return {
    push(chunk) {
      chunks.push(chunk);
      size += chunk.length;
      // Drop whole chunks while the rest still holds `max` bytes.
      while (chunks.length > 1 && size - chunks[0].length >= max) {
        const first = chunks.shift()!;
        size -= first.length;
        dropped += first.length;
      }
    },
    get dropped() {
      return dropped + Math.max(0, size - max);
    },
    text() {
      const all = Buffer.concat(chunks, size);
      return (all.length > max ? all.subarray(all.length - max) : all).toString('utf8');
    },
  };
}
