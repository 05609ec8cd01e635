import { describe, expect, it } from "bun:test";
import { backlogGrew } from "../../scripts/bench/backlog-grew.ts";

const flat = (n: number, v: number) => Array.from({ length: n }, () => v);

describe("the read-model benchmark's growing-lag test", () => {
  it("holds a backlog that stays level, even with one stall in the last seconds", () => {
    const samples = flat(60, 40);
    samples[57] = 3_000;
    samples[58] = 1_500;
    expect(backlogGrew(samples, 4_000)).toBe(false);
  });

  it("finds a backlog that grows steadily, as a consumer slower than the load makes it", () => {
    // 4000/s committed, 3900/s applied: 100 more behind every second, 4000 behind after 40 s.
    const samples = Array.from({ length: 60 }, (_, i) => 100 * i);
    expect(backlogGrew(samples, 4_000)).toBe(true);
  });

  it("allows growth of up to half a second's worth of the rate and no more", () => {
    const grows = (by: number) => [...flat(20, 100), ...flat(20, 100 + by / 2), ...flat(20, 100 + by)];
    expect(backlogGrew(grows(2_000), 4_000)).toBe(false);
    expect(backlogGrew(grows(2_001), 4_000)).toBe(true);
  });

  it("refuses to judge fewer than three samples", () => {
    expect(() => backlogGrew([1, 2], 1_000)).toThrow("at least three samples");
  });
});
