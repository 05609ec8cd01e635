import { describe, expect, it } from "bun:test";
import { runAlternatingFor, splitIntoRounds } from "../../scripts/bench/measure.ts";

describe("the benchmark's relay rounds", () => {
  it("splits a total into rounds that add up to it and differ by at most one", () => {
    expect(splitIntoRounds(20_000, 3)).toEqual([6667, 6667, 6666]);
    expect(splitIntoRounds(300, 3)).toEqual([100, 100, 100]);
    expect(splitIntoRounds(2, 3)).toEqual([1, 1, 0]);
  });
});

describe("the benchmark's rounds of equal time", () => {
  it("gives a fast and a slow contender the same time in every round, each index used once", async () => {
    const order: string[] = [];
    const seen: Record<string, number[]> = { fast: [], slow: [] };
    const contender = (name: string, ms: number) => async (i: number) => {
      if (order[order.length - 1] !== name) order.push(name);
      seen[name]?.push(i);
      await Bun.sleep(ms);
    };
    const [fast, slow] = await runAlternatingFor([contender("fast", 1), contender("slow", 20)], 2, 0.2, 2);
    expect(order).toEqual(["fast", "slow", "fast", "slow"]);
    for (const m of [fast, slow]) {
      expect(m?.seconds).toBeGreaterThanOrEqual(0.4);
      expect(m?.seconds).toBeLessThan(0.6);
    }
    expect((fast?.ops ?? 0) / (slow?.ops ?? 1)).toBeGreaterThan(5);
    for (const name of ["fast", "slow"]) {
      const indices = seen[name] ?? [];
      expect(new Set(indices).size).toBe(indices.length);
      expect(Math.max(...indices)).toBe(indices.length - 1);
    }
  });
});
