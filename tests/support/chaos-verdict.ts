import { expect } from "bun:test";
import { type ChaosSummary, isClean } from "../../scripts/chaos/run-chaos.ts";

/** What every chaos run must show, whatever its faults: nothing lost, done twice or left half-done. */
export function expectKeptEveryPromise(summary: ChaosSummary): void {
  expect(summary.accepted).toBeGreaterThan(100);
  expect(summary.loadSpannedFaults).toBe(true);
  expect(summary.settled).toBe(true);
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
  expect(summary.parkedDetails).toEqual([]);
  expect(summary.stockReceivedOutOfRange).toBe(0);
  expect(summary.ordersConfirmed).toBeGreaterThan(0);
  expect(summary.ordersCancelled).toBeGreaterThan(0);
  expect(isClean(summary)).toBe(true);
}
