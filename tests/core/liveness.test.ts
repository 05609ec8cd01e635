import { describe, expect, it } from "bun:test";
import { Registry } from "prom-client";
import { createLiveness } from "../../src/core/liveness.ts";
import { createLogger } from "../../src/log.ts";
import { watchLiveness } from "../../src/processes/watch-liveness.ts";

function clock() {
  let t = 1_000_000;
  return { now: () => t, pass: (ms: number) => (t += ms) };
}

describe("a process's liveness", () => {
  it("stays live while a part has nothing waiting, however long it has not moved", () => {
    const c = clock();
    const liveness = createLiveness({ stallMs: 1_000, now: c.now });
    liveness.track("relay lane 0");
    c.pass(60_000);
    expect(liveness.report()).toEqual({ live: true, stalled: [] });
  });

  it("reports a part stalled once work has waited past the stall time without progress, and live again when it moves", () => {
    const c = clock();
    const liveness = createLiveness({ stallMs: 1_000, now: c.now });
    const work = liveness.track("consumer orders");
    work.waiting();
    c.pass(900);
    expect(liveness.report().live).toBe(true);
    c.pass(300);
    expect(liveness.report()).toEqual({ live: false, stalled: [{ part: "consumer orders", stalledMs: 200 }] });
    work.progressed();
    expect(liveness.report().live).toBe(true);
    c.pass(1_500);
    expect(liveness.report().live).toBe(false);
    work.idle();
    expect(liveness.report().live).toBe(true);
  });

  it("counts the stall from when work arrived, not from the last progress long before it", () => {
    const c = clock();
    const liveness = createLiveness({ stallMs: 1_000, now: c.now });
    const work = liveness.track("saga worker");
    c.pass(3_600_000);
    work.waiting();
    c.pass(500);
    expect(liveness.report().live).toBe(true);
  });

  it("exits 1 once a part has been stalled for the exit time, and exports eventline_live meanwhile", async () => {
    const c = clock();
    const liveness = createLiveness({ stallMs: 100, now: c.now });
    const registry = new Registry();
    const exits: number[] = [];
    const lines: string[] = [];
    const watch = watchLiveness(liveness, {
      exitAfterMs: 1_000,
      log: createLogger({ role: "test" }, "info", (l) => lines.push(l)),
      registry,
      exit: (code) => exits.push(code),
      everyMs: 10,
    });
    try {
      liveness.track("sweep orders").waiting();
      c.pass(500);
      await Bun.sleep(40);
      expect(exits).toEqual([]);
      expect(await registry.getSingleMetricAsString("eventline_live")).toContain("eventline_live 0");
      expect(lines.some((l) => l.includes("stalled: work is waiting"))).toBe(true);
      c.pass(700);
      await Bun.sleep(40);
      expect(exits[0]).toBe(1);
    } finally {
      watch.stop();
    }
  });
});
