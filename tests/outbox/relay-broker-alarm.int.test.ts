import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { createLiveness } from "../../src/core/liveness.ts";
import { outboxStatus } from "../../src/outbox/outbox-queries.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl, createCollector } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { testRelay } from "../support/test-relay.ts";

const infra = join(import.meta.dirname, "..", "..", "scripts", "infra");
let db: TestDatabase;

function rabbitmqctl(...args: string[]) {
  const r = spawnSync("bash", [infra, "rabbitmqctl", ...args], { stdio: ["ignore", "ignore", "inherit"], timeout: 60_000 });
  if (r.status !== 0) throw new Error(`rabbitmqctl ${args.join(" ")} failed`);
}
const raiseMemoryAlarm = () => rabbitmqctl("set_vm_memory_high_watermark", "absolute", "1MB");
const clearMemoryAlarm = () => rabbitmqctl("set_vm_memory_high_watermark", "0.4");

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  clearMemoryAlarm();
  await db.drop();
});

describe("the relay during a broker resource alarm", () => {
  it("spends no attempt and parks no stream while the broker blocks publishers, reports itself stalled meanwhile, then delivers everything", async () => {
    const exchange = `test.alarm.${crypto.randomUUID().slice(0, 8)}`;
    const notifyChannel = `alarm_${crypto.randomUUID().slice(0, 8)}`;
    const store = createPostgresEventStore({ sql: db.sql, notifyChannel });
    const collector = await createCollector(exchange);
    const liveness = createLiveness({ stallMs: 1_500 });
    // A retry budget the alarm outlasts many times over: two attempts, 300 ms confirm timeout, 50 ms backoff.
    const relay = await testRelay({
      sql: db.sql,
      exchange,
      notifyChannel,
      partitions: 4,
      batchSize: 50,
      maxAttempts: 2,
      pollMs: 100,
      confirmTimeoutMs: 300,
      backoff: { baseMs: 50, maxMs: 100 },
      liveness,
    }).start();
    const streams = Array.from({ length: 5 }, () => `alarm-${crypto.randomUUID()}`);
    try {
      await Bun.sleep(300);
      expect(liveness.report().live).toBe(true);
      raiseMemoryAlarm();
      for (const s of streams) await store.appendToStream(s, [{ type: "Noted", data: { n: 1 } }]);
      // Long enough for the relay to have tried, timed out and backed off many times.
      await Bun.sleep(4_000);
      const [during] = await db.sql<{ attempts: number; parked: number; rows: number }[]>`
        select coalesce(max(attempts), 0)::int as attempts, count(*) filter (where parked_at is not null)::int as parked,
               count(*)::int as rows
        from eventline_outbox where stream_id = any(${streams}::text[])`;
      expect(during).toEqual({ attempts: 0, parked: 0, rows: 5 });
      // Due rows and nothing published for longer than the stall time: the lanes holding them say so.
      expect(liveness.report().live).toBe(false);
      expect(liveness.report().stalled.every((s) => s.part.startsWith("relay lane "))).toBe(true);
      clearMemoryAlarm();
      await collector.until(() => streams.every((s) => collector.received.some((r) => r.streamId === s)), 20_000);
      const status = await outboxStatus(db.sql);
      expect(status.parked).toEqual([]);
      await collector.until(() => liveness.report().live, 5_000);
    } finally {
      clearMemoryAlarm();
      await relay.stop();
      await collector.close();
      await deleteBrokerObjects(amqpUrl(), { consumers: [], exchanges: [exchange] });
    }
  }, 60_000);
});
