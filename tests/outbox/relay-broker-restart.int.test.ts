import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import { createLogger } from "../../src/log.ts";
import { outboxStatus } from "../../src/outbox/outbox-queries.ts";
import { createRelay } from "../../src/outbox/relay.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl, createCollector, versionsByStream } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

const infra = join(import.meta.dirname, "..", "..", "scripts", "infra");
const quiet = createLogger({ role: "test" }, "error");
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

function infraCommand(command: string) {
  const r = spawnSync("bash", [infra, command], { stdio: ["ignore", "ignore", "inherit"], timeout: 180_000 });
  if (r.status !== 0) throw new Error(`scripts/infra ${command} failed`);
}

describe("the relay across a RabbitMQ restart", () => {
  it("loses nothing appended before, during and after the broker was down", async () => {
    const exchange = `test.restart.${crypto.randomUUID().slice(0, 8)}`;
    const notifyChannel = `restart_${crypto.randomUUID().slice(0, 8)}`;
    const store = createPostgresEventStore({ sql: db.sql, notifyChannel });
    const collector = await createCollector(exchange);
    const broker = connectBroker(amqpUrl(), quiet, "test-relay");
    const relay = createRelay({
      sql: db.sql,
      broker,
      log: quiet,
      exchange,
      notifyChannel,
      partitions: 4,
      batchSize: 50,
      maxAttempts: 5,
      pollMs: 100,
      confirmTimeoutMs: 2_000,
    });
    await relay.start();
    const streams = Array.from({ length: 5 }, () => `clock-${crypto.randomUUID()}`);
    const ids: string[] = [];
    let appending = true;
    // A bounded load: at most 3,000 appends, and it stops as soon as the restart is over.
    const load = (async () => {
      for (let i = 0; appending && i < 3_000; i++) {
        const s = streams[i % streams.length] as string;
        const r = await store.appendToStream(s, [{ type: "Ticked", data: { i } }]);
        ids.push(...r.events.map((e) => e.eventId));
        await Bun.sleep(10);
      }
    })();
    // The highest attempt count any row reached, sampled throughout: the outage is the broker's, not a message's.
    let highestAttempts = 0;
    const sampler = (async () => {
      while (appending) {
        const [row] = await db.sql<{ n: number }[]>`select coalesce(max(attempts), 0)::int as n from eventline_outbox`.catch(
          () => [{ n: 0 }],
        );
        highestAttempts = Math.max(highestAttempts, row?.n ?? 0);
        await Bun.sleep(50);
      }
    })();
    try {
      await Bun.sleep(500);
      infraCommand("stop-rabbitmq");
      await Bun.sleep(1_000);
      infraCommand("start-rabbitmq");
      await Bun.sleep(1_000);
      appending = false;
      await load;
      await sampler;
      await collector.reconnect();
      await collector.until(() => new Set(collector.received.map((m) => m.messageId)).size >= ids.length, 60_000);
      expect(new Set(collector.received.map((m) => m.messageId))).toEqual(new Set(ids));
      for (const [, versions] of versionsByStream(collector.received)) {
        const firstSeen = versions.filter((v, i) => versions.indexOf(v) === i);
        expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
      }
      expect((await outboxStatus(db.sql)).parked).toEqual([]);
      expect(highestAttempts).toBe(0);
      expect(ids.length).toBeGreaterThan(50);
    } finally {
      appending = false;
      await relay.stop();
      await broker.close();
      await collector.close();
      await deleteBrokerObjects(amqpUrl(), { consumers: [], exchanges: [exchange] });
    }
  }, 240_000);
});
