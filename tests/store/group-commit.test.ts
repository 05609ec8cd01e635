import { describe, expect, it } from "bun:test";
import { createBatcher } from "../../src/store/group-commit.ts";

function controlledFlush() {
  const calls: number[][] = [];
  let release: () => void = () => {};
  const flush = async (items: number[]) => {
    calls.push(items);
    await new Promise<void>((r) => {
      release = r;
    });
    return items.map((i) => i * 10);
  };
  return { calls, flush, release: () => release() };
}

describe("the group-commit batcher", () => {
  it("flushes a lone item at once, without waiting for a timer", async () => {
    const f = controlledFlush();
    const batcher = createBatcher(f.flush);
    const answer = batcher.submit(1);
    await Promise.resolve();
    expect(f.calls).toEqual([[1]]);
    f.release();
    expect(await answer).toBe(10);
  });

  it("gathers what arrives during a flush into the next one, and answers each item its own result", async () => {
    const f = controlledFlush();
    const batcher = createBatcher(f.flush);
    const first = batcher.submit(1);
    await Promise.resolve();
    const later = [batcher.submit(2), batcher.submit(3), batcher.submit(4)];
    expect(f.calls).toEqual([[1]]);
    f.release();
    expect(await first).toBe(10);
    await Promise.resolve();
    expect(f.calls).toEqual([[1], [2, 3, 4]]);
    f.release();
    expect(await Promise.all(later)).toEqual([20, 30, 40]);
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
