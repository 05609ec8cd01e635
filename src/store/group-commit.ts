/**
 * Natural batching: an item submitted while no flush is running is flushed at once (no waiting when idle);
 * items submitted while a flush runs are gathered and flushed together as soon as it ends. So under load
 * many callers share one round trip, and a lone caller never waits for company.
 */
export type Batcher<I, O> = { submit(item: I): Promise<O> };

type Pending<I, O> = { item: I; resolve: (o: O) => void; reject: (e: unknown) => void };

export function createBatcher<I, O>(
  flush: (items: I[]) => Promise<(O | Error)[]>,
  maxBatch = 500,
  /** Flushes that may run at once (each on its own connection). */
  concurrency = 1,
): Batcher<I, O> {
  let queue: Pending<I, O>[] = [];
  let active = 0;

  async function drain(): Promise<void> {
    active++;
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        const outcomes = await flush(batch.map((p) => p.item));
        batch.forEach((p, i) => {
          const o = outcomes[i];
          if (o instanceof Error) p.reject(o);
          else p.resolve(o as O);
        });
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    active--;
  }

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (active < concurrency) void drain();
      });
    },
  };
}
