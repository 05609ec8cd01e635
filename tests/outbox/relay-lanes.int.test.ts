import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import type { EventStore } from "../../src/core/event-store.ts";
import { createLogger } from "../../src/log.ts";
import { createRelay, type RelayOptions } from "../../src/outbox/relay.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl, createCollector } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

const quiet = createLogger({ role: "test" }, "error");
const exchange = `test.lanes.${crypto.randomUUID().slice(0, 8)}`;
const notifyChannel = `lanes_${crypto.randomUUID().slice(0, 8)}`;
let db: TestDatabase;
let store: EventStore;

// Its own schema: the held batch below must be this test's event, not another test's leftover row.
beforeAll(async () => {
  db = await createTestDatabase();
  store = createPostgresEventStore({ sql: db.sql, notifyChannel });
});
afterAll(async () => {
  await deleteBrokerObjects(amqpUrl(), { consumers: [], exchanges: [exchange] });
  await db.drop();
});

const options = (overrides: Partial<RelayOptions>): Omit<RelayOptions, "broker"> => ({
  sql: db.sql,
  log: quiet,
  exchange,
  notifyChannel,
  partitions: 2,
  batchSize: 100,
  maxAttempts: 5,
  pollMs: 200,
  ...overrides,
});

/** A new stream id whose partition (the relay's `stream_hash mod partitions`) is the one asked for. */
async function streamInPartition(partition: number, partitions: number): Promise<string> {
  for (;;) {
    const id = `clock-${crypto.randomUUID()}`;
    const [row] = await db.sql<
      { p: number }[]
    >`select ((hashtext(${id}) % ${partitions}::int) + ${partitions}::int) % ${partitions}::int as p`;
    if (row?.p === partition) return id;
  }
}

async function outboxRows(streamId: string): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from eventline_outbox where stream_id = ${streamId}`;
  return row?.n ?? 0;
}

describe("the relay's lanes", () => {
  it("keeps publishing one lane's streams while the other lane's batch is still waiting to finish", async () => {
    const collector = await createCollector(exchange);
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let batches = 0;
    const broker = connectBroker(amqpUrl(), quiet, "test-relay-lanes");
    const relay = createRelay({ ...options({ lanes: 2, afterConfirm: () => (batches++ === 0 ? held : undefined) }), broker });
    await relay.start();
    try {
      const first = await streamInPartition(0, 2);
      const second = await streamInPartition(1, 2);
      const [a] = (await store.appendToStream(first, [{ type: "Ticked", data: {} }])).events;
      // Confirmed by the broker, then held before its row is deleted and its transaction ends.
      await collector.until(() => collector.received.some((m) => m.messageId === a?.eventId), 5_000);
      const [b] = (await store.appendToStream(second, [{ type: "Ticked", data: {} }])).events;
      await collector.until(() => collector.received.some((m) => m.messageId === b?.eventId), 5_000);
      expect(await outboxRows(first)).toBe(1);
      release();
      const deadline = Date.now() + 5_000;
      while ((await outboxRows(first)) > 0 && Date.now() < deadline) await Bun.sleep(20);
      expect(await outboxRows(first)).toBe(0);
    } finally {
      release();
      await relay.stop();
      await broker.close();
      await collector.close();
    }
  });

  it("refuses more lanes than partitions, with the numbers in the message, before opening a channel", () => {
    const broker = { on: () => expect.unreachable(), createChannel: () => expect.unreachable() } as never;
    expect(() => createRelay({ ...options({}), broker, partitions: 2, lanes: 3 })).toThrow(
      "relay lanes must be a whole number from 1 to the partitions (2), got 3",
    );
  });
});
