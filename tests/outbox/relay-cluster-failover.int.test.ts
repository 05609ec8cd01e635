import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Registry } from "prom-client";
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import { createConsumer } from "../../src/consumers/consumer-runtime.ts";
import { createLogger } from "../../src/log.ts";
import { outboxStatus } from "../../src/outbox/outbox-queries.ts";
import { createRelay } from "../../src/outbox/relay.ts";
import { createRelayMetrics } from "../../src/outbox/relay-metrics.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { ensureCluster } from "../../scripts/infra-env.ts";
import { createCollector, versionsByStream } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { tallyConsumer } from "../support/tally-consumer.ts";

const infra = join(import.meta.dirname, "..", "..", "scripts", "infra");
const quiet = createLogger({ role: "test" }, "error");
let db: TestDatabase;
let nodes: string[];

beforeAll(async () => {
  nodes = await ensureCluster(3);
  db = await createTestDatabase({ max: 12 });
});
afterAll(async () => db.drop());

function infraCommand(...args: string[]) {
  const r = spawnSync("bash", [infra, ...args], { stdio: ["ignore", "ignore", "inherit"], timeout: 180_000 });
  if (r.status !== 0) throw new Error(`scripts/infra ${args.join(" ")} failed`);
}

const portOf = (url: string) => new URL(url).port;

describe("the relay on a RabbitMQ cluster when its node dies", () => {
  it("publishes what the dead node never confirmed again through another node, in stream order, and the inbox applies it once", async () => {
    const [n1, n2, n3] = nodes as [string, string, string];
    const tag = crypto.randomUUID().slice(0, 8);
    const exchange = `test.failover.${tag}`;
    const notifyChannel = `failover_${tag}`;
    const store = createPostgresEventStore({ sql: db.sql, notifyChannel });
    // The witnesses sit on the nodes that stay: a raw quorum queue counting every copy, and a read model.
    const collector = await createCollector(exchange, "#", { url: n3, queueType: "quorum" });
    const tally = tallyConsumer();
    const consumerBroker = connectBroker([n2, n3, n1], quiet, "test-failover-consumer");
    const consumer = createConsumer({
      def: tally,
      sql: db.sql,
      store,
      broker: consumerBroker,
      exchange,
      log: quiet,
      queueType: "quorum",
      queuePrefix: `test.${tag}`,
      sweep: { everyMs: 500, graceMs: 60_000 },
    });
    await consumer.start();
    // The relay is told node 1 first, so it starts there: that is the node that dies.
    const relayBroker = connectBroker([n1, n2, n3], quiet, "test-failover-relay");
    const connectedTo: string[] = [];
    relayBroker.on("connect", ({ url }) => connectedTo.push(portOf(String(url))));
    const registry = new Registry();
    const metrics = createRelayMetrics(registry, async () => ({ depth: 0, oldestAgeSeconds: 0, parkedStreams: 0 }));
    const relay = createRelay({
      sql: db.sql,
      broker: relayBroker,
      log: quiet,
      exchange,
      notifyChannel,
      partitions: 8,
      batchSize: 100,
      maxAttempts: 3,
      pollMs: 100,
      confirmTimeoutMs: 5_000,
      metrics,
    });
    await relay.start();
    const streams = Array.from({ length: 12 }, () => `tick-${crypto.randomUUID()}`);
    const ids: string[] = [];
    let appending = true;
    // Bounded: at most 6,000 events, stopped shortly after the node is gone.
    const load = (async () => {
      for (let i = 0; appending && i < 600; i++) {
        await Promise.all(
          streams.slice(0, 10).map(async (_, j) => {
            const s = streams[(i + j) % streams.length] as string;
            const r = await store.appendToStream(s, [{ type: "Ticked", data: { n: 1 } }]);
            ids.push(...r.events.map((e) => e.eventId));
          }),
        );
      }
    })();
    let highestAttempts = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await db.sql<{ n: number }[]>`select coalesce(max(attempts), 0)::int as n from eventline_outbox`;
        highestAttempts = Math.max(highestAttempts, row?.n ?? 0);
        await Bun.sleep(50);
      }
    })();
    try {
      await collector.until(() => collector.received.length >= 400, 30_000);
      expect(connectedTo).toEqual([portOf(n1)]);
      // SIGKILL: the kernel closes the node's sockets, so what it had not confirmed fails at once ("channel closed").
      infraCommand("cluster-kill", "1");
      await Bun.sleep(3_000);
      appending = false;
      await load;
      await collector.until(() => new Set(collector.received.map((m) => m.messageId)).size >= ids.length, 60_000);
      // The attempts were watched until the outbox was empty, the republished rows included.
      while ((await outboxStatus(db.sql)).depth > 0) await Bun.sleep(100);
      sampling = false;
      await sampler;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const [row] = await db.sql<{ n: number }[]>`select coalesce(sum(events), 0)::int as n from ${db.sql(tally.name)}`;
        if ((row?.n ?? 0) >= ids.length) break;
        await Bun.sleep(200);
      }

      // It moved to a node that lives, and publishes were lost in flight (they failed and went again).
      expect(connectedTo.length).toBeGreaterThanOrEqual(2);
      expect(connectedTo.slice(1).every((p) => p !== portOf(n1))).toBe(true);
      const failed = (await registry.getSingleMetric("eventline_relay_failed_total")?.get())?.values[0]?.value ?? 0;
      expect(failed).toBeGreaterThan(0);
      // Every event arrived; each stream's versions first arrived in order; no attempt was spent on the node's death.
      expect(new Set(collector.received.map((m) => m.messageId))).toEqual(new Set(ids));
      for (const [, versions] of versionsByStream(collector.received)) {
        const firstSeen = versions.filter((v, i) => versions.indexOf(v) === i);
        expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
      }
      expect(highestAttempts).toBe(0);
      expect((await outboxStatus(db.sql)).depth).toBe(0);
      // The read model holds each event once, however many copies the broker delivered.
      const rows = await db.sql<{ stream_id: string; events: number; last_version: number }[]>`
        select stream_id, events, last_version from ${db.sql(tally.name)}`;
      const versions = new Map<string, number>();
      const stored = await db.sql<{ stream_id: string; version: number }[]>`
        select stream_id, max(version)::int as version from eventline_events group by stream_id`;
      for (const s of stored) versions.set(s.stream_id, s.version);
      expect(rows.map((r) => [r.stream_id, r.events, r.last_version]).sort()).toEqual(
        [...versions].map(([s, v]) => [s, v, v]).sort(),
      );
      const copies = collector.received.length - ids.length;
      console.log(
        `relay failover: ${ids.length} events, ${failed} publishes failed with the node, ${copies} extra copies delivered`,
      );
    } finally {
      appending = false;
      sampling = false;
      await load.catch(() => {});
      infraCommand("cluster-start", "1");
      await relay.stop();
      await relayBroker.close();
      await consumer.stop();
      await consumerBroker.close();
      await collector.close();
      await deleteBrokerObjects(nodes, { consumers: [tally.name], prefix: `test.${tag}`, exchanges: [exchange] });
    }
  }, 240_000);
});
