import { describe, expect, it } from "bun:test";
import { loadOver, parseCpuLine, withMachineLoad } from "../../scripts/bench/machine-load.ts";

const stat = (user: number, idle: number, iowait: number, steal = 0) =>
  `cpu  ${user} 0 0 ${idle} ${iowait} 0 0 ${steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1\n`;

describe("the benchmark's machine load", () => {
  it("reads the aggregate cpu line of /proc/stat, not a core's", () => {
    expect(parseCpuLine(stat(100, 300, 50, 10))).toEqual({ busy: 100, iowait: 50, steal: 10, total: 460 });
    expect(parseCpuLine("no such line")).toBeNull();
  });

  it("averages over the whole section and keeps iowait's peak, which the average hides", () => {
    const samples = [stat(0, 0, 0), stat(50, 50, 0), stat(50, 50, 100), stat(150, 150, 100)].map(
      (s) => parseCpuLine(s) as NonNullable<ReturnType<typeof parseCpuLine>>,
    );
    expect(loadOver(samples)).toEqual({ busyPct: 37.5, iowaitPct: 25, stealPct: 0, peakIowaitPct: 100 });
  });

  it("answers the section's own result beside the load", async () => {
    const [result, load] = await withMachineLoad(async () => "done", 10);
    expect(result).toBe("done");
    if (process.platform === "linux") expect(load?.busyPct).toBeGreaterThanOrEqual(0);
    else expect(load).toBeNull();
  });
});
