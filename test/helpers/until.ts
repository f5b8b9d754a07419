/**
 * Poll `fn` every 50 ms until it gives a value (anything but undefined, null
 * or false) and return it; after `ms` fail with "timed out waiting for <what>".
 * The bound is a backstop for a broken run, not a speed assertion: pick it
 * for a loaded CI machine.
 */
export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
