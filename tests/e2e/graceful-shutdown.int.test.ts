import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import amqp from "amqplib";
import { queueNames } from "../../src/consumers/topology.ts";
import { createShop } from "../../examples/shop/create-shop.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { type RunningProcess, startProcess } from "../support/processes.ts";

let db: TestDatabase;
let env: Record<string, string>;
const tag = crypto.randomUUID().slice(0, 8);

beforeAll(async () => {
  db = await createTestDatabase();
  env = {
    DATABASE_URL: db.url,
    DATABASE_SCHEMA: db.schema,
    AMQP_URL: amqpUrl(),
    EVENTS_EXCHANGE: `test.shutdown.${tag}`,
    QUEUE_PREFIX: `test.shutdown.${tag}`,
    NOTIFY_CHANNEL: `shutdown_${tag}`,
    RELAY_METRICS_PORT: "0",
    CONSUMER_METRICS_PORT: "0",
    LOG_LEVEL: "warn",
  };
});
afterAll(async () => {
  await deleteBrokerObjects(amqpUrl(), {
    consumers: ["catalog", "orders", "customers", "sales"],
    prefix: env.QUEUE_PREFIX,
    exchanges: [env.EVENTS_EXCHANGE as string],
  });
  await db.drop();
});

async function until(what: string, test: () => boolean | Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

const saw = (p: RunningProcess, text: string) => p.lines.some((l) => l.includes(text));

describe("SIGTERM with work in flight", () => {
  it("lets the relay finish a confirmed batch and the consumer a delivery in hand, with nothing left to redeliver", async () => {
    const consumer = startProcess("consumers", ["consumer", "customers"], { ...env, EVENTLINE_FAULT: "consumer-hold-delivery" });
    await until("the consumer's queue", async () => {
      const conn = await amqp.connect(amqpUrl());
      try {
        const ch = await conn.createChannel();
        ch.on("error", () => {});
        await ch.checkQueue(queueNames("customers", env.QUEUE_PREFIX).main);
        return true;
      } catch {
        return false;
      } finally {
        await conn.close().catch(() => {});
      }
    });
    await Bun.sleep(300);
    const relay = startProcess("relay", ["relay"], { ...env, EVENTLINE_FAULT: "relay-hold-after-confirm" });
    const shop = createShop({ sql: db.sql, notifyChannel: env.NOTIFY_CHANNEL });
    const customerId = crypto.randomUUID();
    await shop.service.registerCustomer({ customerId, name: "Held", email: "held@example.com" });

    // The relay holds its confirmed batch before deleting it: SIGTERM now.
    await until("the relay to hold its batch", () => saw(relay, "holding a confirmed batch"));
    const relayStopped = Date.now();
    expect(await relay.stop("SIGTERM")).toBe(0);
    expect(Date.now() - relayStopped).toBeLessThan(15_000);
    const [outbox] = await db.sql<{ n: number }[]>`select count(*)::int as n from eventline_outbox`;
    expect(outbox?.n).toBe(0);

    // The consumer holds the delivery before applying and acking it: SIGTERM now.
    await until("the consumer to hold the delivery", () => saw(consumer, "holding a delivery"));
    const consumerStopped = Date.now();
    const code = await consumer.stop("SIGTERM");
    if (code !== 0) console.log(consumer.lines.slice(-20).join("\n"));
    expect(code).toBe(0);
    expect(Date.now() - consumerStopped).toBeLessThan(15_000);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from shop_customers where customer_id = ${customerId}`;
    expect(row?.n).toBe(1);
    const [inbox] = await db.sql<{ n: number }[]>`select count(*)::int as n from eventline_inbox where consumer = 'customers'`;
    expect(inbox?.n).toBe(1);
    // Nothing is left unacked for the broker to deliver again.
    const conn = await amqp.connect(amqpUrl());
    try {
      const ch = await conn.createChannel();
      const q = await ch.checkQueue(queueNames("customers", env.QUEUE_PREFIX).main);
      expect({ messages: q.messageCount, consumers: q.consumerCount }).toEqual({ messages: 0, consumers: 0 });
    } finally {
      await conn.close();
    }
  }, 60_000);
});
