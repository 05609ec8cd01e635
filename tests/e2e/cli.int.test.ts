import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import amqp from "amqplib";
import { declareConsumerTopology, queueNames } from "../../src/consumers/topology.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { startSaga } from "../../src/sagas/saga-store.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { startProcess } from "../support/processes.ts";

let db: TestDatabase;
const prefix = `cli.${crypto.randomUUID().slice(0, 8)}`;
const consumer = "orders";
const exchange = `test.cli.${crypto.randomUUID().slice(0, 8)}`;
let env: Record<string, string>;
let conn: amqp.ChannelModel;

beforeAll(async () => {
  db = await createTestDatabase();
  env = {
    DATABASE_URL: db.url,
    DATABASE_SCHEMA: db.schema,
    AMQP_URL: amqpUrl(),
    QUEUE_PREFIX: prefix,
    EVENTS_EXCHANGE: exchange,
    LOG_LEVEL: "error",
  };
  conn = await amqp.connect(amqpUrl());
  const ch = await conn.createChannel();
  await declareConsumerTopology(ch, { consumer, exchange, bindings: ["order.#"], queueType: "classic", prefix });
  await ch.close();
});
afterAll(async () => {
  await conn.close();
  await deleteBrokerObjects(amqpUrl(), { consumers: [consumer], prefix, exchanges: [exchange] });
  await db.drop();
});

/** Runs one CLI command to its end; its exit code and everything it printed. */
async function cli(...args: string[]) {
  const p = startProcess(`cli ${args[0]}`, args, env);
  const code = await p.exited;
  return { code, out: p.lines.join("\n") };
}

describe("the CLI against the real servers", () => {
  it("lists, shows, replays and purges dead letters of a consumer under QUEUE_PREFIX", async () => {
    const ch = await conn.createConfirmChannel();
    const messageId = crypto.randomUUID();
    ch.sendToQueue(queueNames(consumer, prefix).dead, Buffer.from("{}"), {
      messageId,
      headers: { "x-dead-reason": "it broke", "x-attempts": 5, "x-stream-id": "order-1", "x-stream-version": 1 },
    });
    await ch.waitForConfirms();
    await ch.close();
    const list = await cli("dead-letters", "list", consumer);
    expect(list.code).toBe(0);
    expect(list.out).toContain(messageId);
    const show = await cli("dead-letters", "show", consumer, messageId);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.out)).toMatchObject([{ messageId, reason: "it broke", attempts: 5, streamId: "order-1" }]);
    const replay = await cli("dead-letters", "replay", consumer, messageId);
    expect(replay.out).toContain("replayed 1");
    const main = await conn.createChannel();
    const replayed = await main.get(queueNames(consumer, prefix).main);
    expect(replayed ? replayed.properties.messageId : undefined).toBe(messageId);
    await main.close();
    expect((await cli("dead-letters", "purge", consumer)).out).toContain("purged 0");
  });

  it("shows the outbox with its parked streams and releases every one of them", async () => {
    const store = createPostgresEventStore({ sql: db.sql });
    const streams = [`order-${crypto.randomUUID()}`, `order-${crypto.randomUUID()}`];
    for (const s of streams) await store.appendToStream(s, [{ type: "OrderCreated", data: {} }]);
    await db.sql`update eventline_outbox set attempts = 10, parked_at = now(), last_error = 'timeout' where stream_id = any(${streams}::text[])`;
    const status = await cli("outbox", "status");
    const parsed = JSON.parse(status.out) as { depth: number; parked: { streamId: string }[] };
    expect(parsed.depth).toBe(2);
    expect(parsed.parked.map((p) => p.streamId).sort()).toEqual([...streams].sort());
    expect((await cli("outbox", "release", "--all")).out).toContain("released every stream: 2 rows due again");
    const after = JSON.parse((await cli("outbox", "status")).out) as { parked: unknown[] };
    expect(after.parked).toEqual([]);
  });

  it("lists sagas and retries only one that needs attention", async () => {
    const sagaId = `checkout-${crypto.randomUUID()}`;
    await startSaga(db.sql, { sagaId, sagaType: "checkout", data: {} }, "cli_sagas");
    expect((await cli("sagas", "retry", sagaId)).out).toContain("does not need attention");
    await db.sql`update eventline_saga_instances set status = 'needs_attention' where saga_id = ${sagaId}`;
    expect((await cli("sagas", "list", "needs_attention")).out).toContain(sagaId);
    expect((await cli("sagas", "retry", sagaId)).out).toContain(`retrying ${sagaId}`);
    const [row] = await db.sql<{ status: string }[]>`select status from eventline_saga_instances where saga_id = ${sagaId}`;
    expect(row?.status).toBe("compensating");
  });

  it("refuses an unknown subcommand with exit code 2 and its usage", async () => {
    const r = await cli("outbox", "explode");
    expect(r.code).toBe(2);
    expect(r.out).toContain("outbox release --all");
  });
});
