import { describe, expect, it } from "bun:test";
import { formatSummary, runChaos } from "../../scripts/chaos/run-chaos.ts";
import { expectKeptEveryPromise } from "../support/chaos-verdict.ts";

describe("the chaos run on a three-node RabbitMQ cluster (CI size)", () => {
  it("loses, duplicates or half-does nothing while nodes die and come back under two instances of every consumer, with the read side in its own database", async () => {
    const summary = await runChaos({ durationMs: 20_000, maxCommands: 300, cluster: true, log: () => {} });
    console.log(formatSummary(summary));
    expect(summary.faults.map((f) => ({ fault: f.name, bit: f.bit }))).toEqual([
      { fault: "RabbitMQ node 1 killed (SIGKILL)", bit: true },
      { fault: "RabbitMQ node 1 started again and rejoined", bit: true },
      { fault: "RabbitMQ node 2 stopped (a clean shutdown)", bit: true },
      { fault: "RabbitMQ node 2 started again and rejoined", bit: true },
    ]);
    expect(summary.readDatabase).toBe("eventline_read");
    // Every consumer's queues are quorum queues, and each main queue had both instances consuming at the end.
    const queues = summary.queues ?? {};
    expect(Object.values(queues).every((q) => q.type === "quorum")).toBe(true);
    const main = Object.entries(queues).filter(([name]) => !name.endsWith(".retry") && !name.endsWith(".dead"));
    expect(Object.fromEntries(main.map(([name, q]) => [name, q.consumers]))).toEqual({
      catalog: 2,
      orders: 2,
      customers: 2,
      sales: 2,
      checkout: 1,
    });
    expectKeptEveryPromise(summary);
  }, 300_000);
});
