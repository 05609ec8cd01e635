import { setImmediate } from "node:timers";

/**
 * Natural batching: items are flushed as soon as a flush slot is free — no timer, no waiting when idle —
 * but a flush starts only after the current turn of the event loop, so everything submitted in that turn
 * goes together. That matters: when a flush answers 100 callers, they all come back in the same turn; if
 * the first of them started a flush of its own at once, the free slot would carry one item per round trip
 * while the rest waited. Items are shared evenly between the free slots, so two slots keep two similar
 * batches in flight.
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
  let scheduled = false;

  async function run(batch: Pending<I, O>[]): Promise<void> {
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

  async function drain(batch: Pending<I, O>[]): Promise<void> {
    active++;
    // What arrived during a flush was gathered meanwhile: this slot takes it on at once.
    for (let next = batch; next.length > 0; next = take(1)) await run(next);
    active--;
    schedule();
  }

  /** The next batch for one of `slots` free slots: an even share of the queue, at most maxBatch. */
  function take(slots: number): Pending<I, O>[] {
    const size = Math.min(maxBatch, Math.ceil(queue.length / slots));
    const batch = queue.slice(0, size);
    queue = queue.slice(size);
    return batch;
  }

  function start() {
    scheduled = false;
    while (active < concurrency && queue.length > 0) void drain(take(concurrency - active));
  }

  function schedule() {
    if (scheduled || active >= concurrency || queue.length === 0) return;
    scheduled = true;
    setImmediate(start);
  }

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
  };
}
