import { describe, expect, it } from "bun:test";
import { formatSummary, isClean, runChaos } from "../../scripts/chaos/run-chaos.ts";

describe("the chaos run (CI size)", () => {
  it("proves every fault bit and loses, duplicates or half-does nothing, by the client's record and the provider's table", async () => {
    const summary = await runChaos({ durationMs: 45_000, maxCommands: 600, readDatabase: true, log: () => {} });
    console.log(formatSummary(summary));
    expect(summary.faults.map((f) => ({ fault: f.name, bit: f.bit }))).toEqual(
      summary.faults.map((f) => ({ fault: f.name, bit: true })),
    );
    expect(summary.faults).toHaveLength(8);
    expect(summary.faults.flatMap((f) => (f.violation ? [`${f.name}: ${f.violation}`] : []))).toEqual([]);
    expect(summary.accepted).toBeGreaterThan(100);
    expect(summary.loadSpannedFaults).toBe(true);
    expect(summary.settled).toBe(true);
    // The read models, inboxes and sagas lived in a second database.
    expect(summary.readDatabase).toBe("eventline_read");
    expect(summary.windowsWithout2xx).toBe(0);
    expect(summary.errorDetails).toEqual([]);
    expect(summary.lostDetails).toEqual([]);
    expect(summary.answersWithoutPosition).toBe(0);
    expect({
      charges: summary.duplicateCharges,
      refunds: summary.duplicateRefunds,
      reservations: summary.duplicateReservations,
      outcomes: summary.duplicateOutcomes,
    }).toEqual({ charges: 0, refunds: 0, reservations: 0, outcomes: 0 });
    expect(summary.orderDetails).toEqual([]);
    expect(summary.readModelRowsDiffering).toEqual({ catalog: 0, orders: 0, customers: 0, sales: 0 });
    expect(summary.auditFindings).toEqual({ catalog: 0, orders: 0, customers: 0, sales: 0, checkout: 0 });
    expect(summary.ordersShownWrong).toBe(0);
    expect(summary.stuckSagas).toBe(0);
    expect(summary.parkedStreams).toBe(0);
    expect(summary.stockReceivedOutOfRange).toBe(0);
    expect(summary.ordersConfirmed).toBeGreaterThan(0);
    expect(summary.ordersCancelled).toBeGreaterThan(0);
    expect(isClean(summary)).toBe(true);
  }, 300_000);
});
