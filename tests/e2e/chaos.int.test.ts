import { describe, expect, it } from "bun:test";
import { formatSummary, runChaos } from "../../scripts/chaos/run-chaos.ts";
import { expectKeptEveryPromise } from "../support/chaos-verdict.ts";

describe("the chaos run (CI size)", () => {
  it("proves every fault bit and loses, duplicates or half-does nothing, by the client's record and the provider's table", async () => {
    const summary = await runChaos({ durationMs: 45_000, maxCommands: 600, readDatabase: true, log: () => {} });
    console.log(formatSummary(summary));
    expect(summary.faults.map((f) => ({ fault: f.name, bit: f.bit }))).toEqual(
      summary.faults.map((f) => ({ fault: f.name, bit: true })),
    );
    expect(summary.faults).toHaveLength(8);
    expect(summary.faults.flatMap((f) => (f.violation ? [`${f.name}: ${f.violation}`] : []))).toEqual([]);
    // The read models, inboxes and sagas lived in a second database.
    expect(summary.readDatabase).toBe("eventline_read");
    expect(summary.emptyWindows).toEqual([]);
    expect(summary.errorDetails).toEqual([]);
    expectKeptEveryPromise(summary);
  }, 300_000);
});
