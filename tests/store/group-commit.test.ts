import { describe, expect, it } from "bun:test";
import { createBatcher } from "../../src/store/group-commit.ts";

/** A flush that answers only when the test releases it: the last one started, or the n-th. */
function controlledFlush() {
  const calls: number[][] = [];
  const releases: (() => void)[] = [];
  const flush = async (items: number[]) => {
    calls.push(items);
    await new Promise<void>((r) => {
      releases.push(r);
    });
    return items.map((i) => i * 10);
  };
  return { calls, flush, release: (n = releases.length - 1) => releases[n]?.() };
}

/** One turn of the event loop: what the batcher waits for before it starts a flush. */
const turn = () => new Promise<void>((r) => setImmediate(r));

describe("the group-commit batcher", () => {
  it("flushes a lone item at once, without waiting for a timer", async () => {
    const f = controlledFlush();
    const batcher = createBatcher(f.flush);
    const answer = batcher.submit(1);
    await turn();
    expect(f.calls).toEqual([[1]]);
    f.release();
    expect(await answer).toBe(10);
  });

  it("gathers what arrives during a flush into the next one, and answers each item its own result", async () => {
    const f = controlledFlush();
    const batcher = createBatcher(f.flush);
    const first = batcher.submit(1);
    await turn();
    const later = [batcher.submit(2), batcher.submit(3), batcher.submit(4)];
    expect(f.calls).toEqual([[1]]);
    f.release();
    expect(await first).toBe(10);
    await Promise.resolve();
    expect(f.calls).toEqual([[1], [2, 3, 4]]);
    f.release();
    expect(await Promise.all(later)).toEqual([20, 30, 40]);
  });

  it("gathers callers that come back together into one batch, instead of flushing the first of them alone", async () => {
    const f = controlledFlush();
    const batcher = createBatcher(f.flush, 500, 2);
    const workers = Array.from({ length: 10 }, async (_, w) => {
      for (let k = 0; k < 2; k++) await batcher.submit(w);
    });
    await turn();
    expect(f.calls.map((c) => c.length)).toEqual([5, 5]);
    f.release(0);
    await turn();
    await turn();
    expect(f.calls.map((c) => c.length)).toEqual([5, 5, 5]);
    f.release(1);
    await turn();
    await turn();
    expect(f.calls.map((c) => c.length)).toEqual([5, 5, 5, 5]);
    f.release(2);
    f.release(3);
    await Promise.all(workers);
  });

  it("rejects only the item whose result is an error", async () => {
    const batcher = createBatcher(async (items: number[]) => items.map((i) => (i === 2 ? new Error("conflict") : i)));
    const outcomes = await Promise.allSettled([batcher.submit(1), batcher.submit(2), batcher.submit(3)]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });

  it("caps a batch at its maximum size", async () => {
    const sizes: number[] = [];
    const batcher = createBatcher(async (items: number[]) => {
      sizes.push(items.length);
      await Bun.sleep(1);
      return items;
    }, 3);
    await Promise.all(Array.from({ length: 8 }, (_, i) => batcher.submit(i)));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(8);
  });
});
