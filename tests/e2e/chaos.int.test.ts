import { describe, expect, it } from "bun:test";
import { formatSummary, runChaos } from "../../scripts/chaos/run-chaos.ts";

describe("the chaos run (CI size)", () => {
  it("loses nothing and applies nothing twice across six injected faults", async () => {
    const summary = await runChaos({ durationMs: 60_000, maxCommands: 600, log: () => {} });
    console.log(formatSummary(summary));
    expect(summary.faultsInjected.length).toBeGreaterThanOrEqual(5);
    expect(summary.accepted).toBeGreaterThan(100);
    // The load ran through the faults, from before the first to after the last.
    expect(summary.loadSpannedFaults).toBe(true);
    expect(summary.settled).toBe(true);
    expect(summary.eventsLost).toBe(0);
    expect(summary.duplicateEffects).toBe(0);
    expect(summary.readModelRowsDiffering).toEqual({ catalog: 0, orders: 0, customers: 0, sales: 0 });
    expect(summary.stuckSagas).toBe(0);
    expect(summary.cancelledButCharged).toBe(0);
    expect(summary.stockReceivedOutOfRange).toBe(0);
  }, 240_000);
});
