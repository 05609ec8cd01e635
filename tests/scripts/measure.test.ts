import { describe, expect, it } from "bun:test";
import { runAlternating, splitIntoRounds } from "../../scripts/bench/measure.ts";

describe("the benchmark's alternating rounds", () => {
  it("splits a total into rounds that add up to it and differ by at most one", () => {
    expect(splitIntoRounds(20_000, 3)).toEqual([6667, 6667, 6666]);
    expect(splitIntoRounds(300, 3)).toEqual([100, 100, 100]);
    expect(splitIntoRounds(2, 3)).toEqual([1, 1, 0]);
  });

  it("runs the contenders in turn, round after round, each over every index exactly once", async () => {
    const order: string[] = [];
    const seen: Record<string, number[]> = { a: [], b: [] };
    const contender = (name: string) => async (i: number) => {
      if (order[order.length - 1] !== name) order.push(name);
      seen[name]?.push(i);
    };
    const [a, b] = await runAlternating([contender("a"), contender("b")], 4, 10, 2);
    expect(order).toEqual(["a", "b", "a", "b"]);
    expect(seen.a?.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(seen.b?.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([a?.ops, b?.ops]).toEqual([10, 10]);
  });
});
