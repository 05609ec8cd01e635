import { describe, expect, it } from "bun:test";
import { HTTP_TARGETS } from "../../scripts/bench/http.ts";
import { type BenchResults, checkTargets } from "../../scripts/bench/targets.ts";

const measured = { ops: 1, seconds: 1, p50Ms: 1 };
function results(over: Partial<BenchResults> = {}): BenchResults {
  return {
    appends: [
      { path: "eventline appendToStream (group commit)", concurrency: 256, perSecond: 45_000, p99Ms: 12, ...measured },
      { path: "emmett-postgresql 0.42 appendToStream", concurrency: 256, perSecond: 4_000, p99Ms: 180, ...measured },
      { path: "eventline appendToStream (group commit)", concurrency: 16, perSecond: 1_000, p99Ms: 90, ...measured },
      { path: "one SQL statement (event + outbox CTE)", concurrency: 256, perSecond: 12_000, p99Ms: 40, ...measured },
    ],
    http: [
      { target: HTTP_TARGETS.api, connections: 64, perSecond: 9_000, p50Ms: 6, p99Ms: 20, non2xx: 0, seconds: 15 },
      {
        target: HTTP_TARGETS.api,
        connections: 128,
        perSecond: 11_000,
        p50Ms: 11,
        p99Ms: 40,
        non2xx: 0,
        seconds: 15,
      },
      { target: HTTP_TARGETS.constant, connections: 64, perSecond: 60_000, p50Ms: 1, p99Ms: 3, non2xx: 0, seconds: 15 },
      { target: HTTP_TARGETS.constantVerifying, connections: 64, perSecond: 50_000, p50Ms: 1, p99Ms: 3, non2xx: 0, seconds: 15 },
    ],
    relay: {
      events: 60_000,
      relayPerSecond: 20_000,
      amqplibPerSecond: 21_000,
      ratio: 0.95,
      roundRatios: [0.95],
      idleP50Ms: 2,
      idleP99Ms: 6,
    },
    readModel: [
      { handler: "set-based (handleBatch)", rate: 1_000, seconds: 15, p50Ms: 4, p99Ms: 30, highestSustainedRate: 4_000 },
      { handler: "one upsert per event", rate: 1_000, seconds: 15, p50Ms: 8, p99Ms: 60, highestSustainedRate: 2_000 },
    ],
    rebuild: [
      { handler: "set-based (handleBatch)", events: 1_000_000, seconds: 8, perSecond: 125_000 },
      { handler: "one upsert per event", events: 100_000, seconds: 2.5, perSecond: 40_000 },
    ],
    snapshots: [{ events: 10_000, withoutMs: 38, withMs: 0.25, eventsReadWith: 0 }],
    queries: ["GET /orders/:id", "GET /products/:id"].map((target) => ({
      target,
      connections: 64,
      perSecond: 35_000,
      p50Ms: 1,
      p99Ms: 10,
      non2xx: 0,
      seconds: 15,
    })),
    checkouts: { phases: [], highestHeldRate: 1_400, boundMs: 250 },
    peakMemory: [
      { section: "shop", process: "api", peakRssMb: 110 },
      { section: "shop", process: "relay", peakRssMb: 70 },
    ],
    ...over,
  };
}
const verdict = (r: BenchResults, starts: string) => checkTargets(r).find((t) => t.target.startsWith(starts))?.met;

describe("the benchmark's target check", () => {
  // The default run's commands are 15% of the constant app (9k against 60k); this one's are 21.7%.
  const fastCommands = () => {
    const r = results();
    r.http[0] = { ...(r.http[0] as BenchResults["http"][number]), perSecond: 13_000 };
    return r;
  };

  it("meets every target with a run that holds them all", () => {
    const checks = checkTargets(fastCommands());
    expect(checks.length).toBe(19);
    expect(checks.filter((t) => !t.met)).toEqual([]);
  });

  it("misses commands under 20% of the constant app's req/s, or over 50 ms at p99", () => {
    expect(verdict(results(), "HTTP commands at 64 connections")).toBe(false);
    const slow = fastCommands();
    slow.http[0] = { ...(slow.http[0] as BenchResults["http"][number]), p99Ms: 51 };
    expect(verdict(slow, "HTTP commands at 64 connections")).toBe(false);
  });

  it("misses a query at 49% of the constant app, over 20 ms at p99, or with a failed answer", () => {
    const q = (over: Partial<NonNullable<BenchResults["queries"]>[number]>) =>
      results({
        queries: [{ target: "GET /x", connections: 64, perSecond: 35_000, p50Ms: 1, p99Ms: 10, non2xx: 0, seconds: 15, ...over }],
      });
    expect(verdict(q({}), "GET /x")).toBe(true);
    expect(verdict(q({ perSecond: 29_400 }), "GET /x")).toBe(false);
    expect(verdict(q({ p99Ms: 20.5 }), "GET /x")).toBe(false);
    expect(verdict(q({ non2xx: 1 }), "GET /x")).toBe(false);
  });

  it("counts a checkout as four commands against the command ceiling, and misses under 40%", () => {
    // 1,100 checkouts/s are 4,400 commands/s, 40% of the 11k/s ceiling (128 connections).
    const at = (rate: number) => results({ checkouts: { phases: [], highestHeldRate: rate, boundMs: 250 } });
    expect(verdict(at(1_100), "whole pipeline")).toBe(true);
    expect(verdict(at(1_099), "whole pipeline")).toBe(false);
  });

  it("misses memory when one process peaks over 150 MB, and names it", () => {
    const r = results({ peakMemory: [{ section: "shop", process: "consumers", peakRssMb: 151 }] });
    const check = checkTargets(r).find((t) => t.target.startsWith("every process's peak RSS"));
    expect(check?.met).toBe(false);
    expect(check?.measured).toContain("over: consumers (shop)");
  });

  it("misses the per-event rebuild under 30% of the set-based one, and a held rate under half of its", () => {
    const r = results();
    r.rebuild = [
      { handler: "set-based (handleBatch)", events: 1_000_000, seconds: 8, perSecond: 125_000 },
      { handler: "one upsert per event", events: 100_000, seconds: 2.7, perSecond: 37_000 },
    ];
    expect(verdict(r, "rebuild, one upsert per event")).toBe(false);
    const held = results();
    held.readModel = held.readModel.map((m) =>
      m.handler === "one upsert per event" ? { ...m, highestSustainedRate: 1_000 } : m,
    );
    expect(verdict(held, "one upsert per event: the highest rate")).toBe(false);
  });

  it("misses 3x the one-statement baseline at 2.9x", () => {
    const r = results();
    r.appends = r.appends.map((a) => (a.path.startsWith("one SQL") ? { ...a, perSecond: 15_500 } : a));
    expect(verdict(r, "appends at concurrency 256: at least 3x")).toBe(false);
  });

  it("misses the Emmett ratio at 9.9x, judged at concurrency 256 only", () => {
    const r = results();
    r.appends[1] = { ...(r.appends[1] as BenchResults["appends"][number]), perSecond: 4_546 };
    expect(verdict(r, "appends at concurrency 256: at least 10x")).toBe(false);
    expect(verdict(results(), "appends at concurrency 256: p99")).toBe(true);
  });

  it("meets HTTP when one connection count holds both halves, and names the count that missed", () => {
    const r = results();
    r.http[0] = { ...(r.http[0] as BenchResults["http"][number]), perSecond: 7_400 };
    const http = checkTargets(r).find((t) => t.target.startsWith("HTTP"));
    expect(http?.met).toBe(true);
    expect(http?.measured).toContain("64 conns 7.4k/s p99 20.0 ms (miss)");
  });

  it("misses HTTP when no count holds both throughput and p99, or when requests failed", () => {
    const slow = results();
    slow.http = slow.http.map((h) => (h.target === HTTP_TARGETS.api ? { ...h, p99Ms: 51 } : h));
    expect(verdict(slow, "HTTP")).toBe(false);
    const failing = results();
    failing.http = failing.http.map((h) => ({ ...h, non2xx: 3 }));
    expect(verdict(failing, "HTTP")).toBe(false);
  });

  it("misses the token cost when verifying adds more than a tenth of a command's time at the same connections", () => {
    const r = results();
    // 1e6/30k - 1e6/60k = 16.7 µs against a command of 1e6/9k = 111 µs at 64 connections.
    r.http = r.http.map((h) => (h.target === HTTP_TARGETS.constantVerifying ? { ...h, perSecond: 30_000 } : h));
    const check = checkTargets(r).find((t) => t.target.startsWith("verifying a token"));
    expect(check?.met).toBe(false);
    expect(check?.measured).toBe("16.7 µs of a 111 µs command (15.0%)");
    expect(verdict(results(), "verifying a token")).toBe(true);
  });

  it("judges the rebuild over the largest log, not the fastest", () => {
    const r = results();
    r.rebuild = [
      { handler: "set-based (handleBatch)", events: 1_000_000, seconds: 25, perSecond: 40_000 },
      { handler: "one upsert per event", events: 100_000, seconds: 1, perSecond: 100_000 },
    ];
    expect(verdict(r, "rebuild")).toBe(false);
  });

  it("misses the relay at 89% and the snapshot load at 5.1 ms", () => {
    expect(verdict(results({ relay: { ...results().relay, ratio: 0.89 } }), "relay: at least 90%")).toBe(false);
    expect(verdict(results({ snapshots: [{ events: 10_000, withoutMs: 38, withMs: 5.1, eventsReadWith: 0 }] }), "10,000")).toBe(
      false,
    );
  });
});
