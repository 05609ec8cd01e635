import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

describe("the benchmark (smoke size)", () => {
  it("runs every section against the real servers and writes its JSON", async () => {
    const bench = Bun.spawn([process.execPath, join(root, "scripts", "bench.ts"), "--smoke"], {
      cwd: root,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([
      new Response(bench.stdout).text(),
      new Response(bench.stderr).text(),
      bench.exited,
    ]);
    expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" });
    expect(out).toContain("| eventline appendToStream (group commit) | 256 |");
    const json = JSON.parse(readFileSync(join(root, "bench-results", "smoke.json"), "utf8"));
    expect(json.smoke).toBe(true);
    expect(json.appends).toHaveLength(9);
    expect(json.http.map((h: { connections: number; non2xx: number }) => [h.connections, h.non2xx])).toEqual([
      [64, 0],
      [128, 0],
      [64, 0],
      [64, 0],
      [64, 0],
    ]);
    // The traced API answered too, and the no-op tracing was timed.
    expect(json.http.map((h: { target: string }) => h.target)).toContain(
      "the same API exporting its spans (OTLP/HTTP to a local sink)",
    );
    expect(json.tracingOff.perCommandUs).toBeGreaterThan(0);
    expect(json.tokens.firstSightUs).toBeGreaterThan(json.tokens.rememberedUs);
    expect(json.relay.events).toBe(300);
    expect(json.relay.roundRatios).toHaveLength(3);
    expect(Object.keys(json.machineLoad)).toEqual([
      "appends",
      "http",
      "runtimes",
      "relay",
      "read model",
      "competing consumers",
      "rebuild",
      "snapshots",
      "shop",
    ]);
    // Each runtime answered commands (a refused token or a pooler fault would show as non-2xx or throw).
    expect(json.runtimes.map((r: { non2xx: number }) => r.non2xx)).toEqual([0, 0, 0]);
    for (const r of json.runtimes) expect(r.perSecond > 0 && r.firstCommandMs > 0).toBe(true);
    expect(json.targets).toHaveLength(21);
    expect(json.targets.every((t: { met: unknown }) => typeof t.met === "boolean")).toBe(true);
    expect(out).toContain("| target (smoke run: no verdict) | measured | met |");
    expect(json.readModel.map((r: { handler: string }) => r.handler)).toEqual([
      "set-based (handleBatch)",
      "one upsert per event",
    ]);
    // One queue served by 1, 2 and 4 instances, each applying all 600 events.
    expect(json.competing.map((c: { instances: number; events: number }) => [c.instances, c.events])).toEqual([
      [1, 600],
      [2, 600],
      [4, 600],
    ]);
    expect(out).toContain("| 4 instances | 600 |");
    expect(json.rebuild.map((r: { events: number }) => r.events)).toEqual([5_000, 2_000]);
    expect(json.snapshots.map((s: { eventsReadWith: number }) => s.eventsReadWith)).toEqual([10, 0, 0]);
    // The shop's queries answered from its read models, and whole checkouts went through every process.
    expect(json.queries.map((q: { target: string; non2xx: number }) => [q.target, q.non2xx])).toEqual([
      ["GET /orders/:id", 0],
      ["GET /products/:id", 0],
      ["GET /customers/:id/orders", 0],
    ]);
    const [phase] = json.checkouts.phases;
    expect({ rate: phase.rate, failed: phase.failed, drained: phase.drainedAfterS !== null }).toEqual({
      rate: 5,
      failed: 0,
      drained: true,
    });
    expect(Object.keys(phase.applyLatency).sort()).toEqual(["catalog", "checkout", "customers", "orders", "sales"]);
    expect(
      json.peakMemory.filter((m: { section: string }) => m.section === "shop").map((m: { process: string }) => m.process),
    ).toEqual(["provider", "api", "relay", "consumers", "saga"]);
  }, 180_000);
});
