/**
 * Polls `read` until `accept` takes its value (a read that throws counts as not yet), or fails after `ms`
 * naming what it waited for and the last value seen.
 */
export async function waitFor<T>(what: string, read: () => Promise<T> | T, accept: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve()
      .then(read)
      .catch(() => undefined as T);
    if (v !== undefined && accept(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)?.slice(0, 500)}`);
    await Bun.sleep(100);
  }
}
