import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import amqp from "amqplib";
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import type { ConsumerDefinition } from "../../src/consumers/consumer-definition.ts";
import { createConsumer } from "../../src/consumers/consumer-runtime.ts";
import { queueNames } from "../../src/consumers/topology.ts";
import { createLogger } from "../../src/log.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { createPublisher } from "../support/tally-consumer.ts";
import { waitFor } from "../support/wait-for.ts";

const quiet = createLogger({ role: "test" }, "error");
const tag = crypto.randomUUID().slice(0, 8);
const exchange = `test.subscription.${tag}`;
let db: TestDatabase;
let admin: amqp.ChannelModel;
const names: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ max: 8 });
  admin = await amqp.connect(amqpUrl());
});

afterAll(async () => {
  await deleteBrokerObjects(amqpUrl(), { consumers: names, exchanges: [exchange] });
  await admin.close();
  await db.drop();
});

async function consumersOn(queue: string): Promise<number> {
  const ch = await admin.createChannel();
  ch.on("error", () => {});
  try {
    return (await ch.checkQueue(queue)).consumerCount;
  } catch {
    return -1;
  } finally {
    await ch.close().catch(() => {});
  }
}

const oneConsumerOn = (queue: string, ms: number) =>
  waitFor(
    `one consumer on ${queue}`,
    () => consumersOn(queue),
    (n) => n === 1,
    ms,
  );

/**
 * A consumer whose handler holds its first event for `holdMs`, and which only the broker can feed: the
 * sweep waits a minute before it takes an event the broker did not deliver.
 */
async function startHeldConsumer(holdMs: number) {
  const name = `held_${tag}_${names.length}`;
  names.push(name);
  const category = `held${tag}${names.length}`;
  const applied: string[] = [];
  let held = false;
  const def: ConsumerDefinition = {
    name,
    bindings: [`${category}.#`],
    tables: { [name]: (t) => `create table ${t} (n int)` },
    handlers: {
      Ticked: async ({ event }) => {
        if (!held) {
          held = true;
          await Bun.sleep(holdMs);
        }
        applied.push(event.streamId);
      },
    },
  };
  const store = createPostgresEventStore({ sql: db.sql });
  const broker = connectBroker(amqpUrl(), quiet, `test-${name}`);
  const consumer = createConsumer({
    def,
    sql: db.sql,
    store,
    broker,
    exchange,
    log: quiet,
    sweep: { everyMs: 60_000, graceMs: 60_000 },
  });
  await consumer.start();
  const publisher = await createPublisher(exchange);
  let n = 0;
  /** Appends an event to a new stream and publishes it the way the relay would. */
  const send = async () => {
    const streamId = `${category}-${++n}`;
    await store.appendToStream(streamId, [{ type: "Ticked", data: {} }]);
    const [recorded] = await store.readStream(streamId);
    if (!recorded) throw new Error("the event was not stored");
    await publisher.publish(recorded);
    return streamId;
  };
  const stop = async () => {
    await consumer.stop();
    await broker.close();
    await publisher.close();
  };
  return { queue: queueNames(name).main, applied, send, broker, stop };
}

describe("a consumer's subscription to its queue", () => {
  it("comes back after the connection drops while a delivery is still being applied", async () => {
    const c = await startHeldConsumer(1_500);
    try {
      const first = await c.send();
      await Bun.sleep(300);
      // The first delivery is in the handler; its ack will be owed to a channel that is gone.
      c.broker.reconnect();
      await waitFor("the first event applied", () => c.applied.includes(first), Boolean, 10_000);
      await Bun.sleep(1_000);
      expect(await consumersOn(c.queue)).toBe(1);
      const second = await c.send();
      await waitFor("the second event applied", () => c.applied.includes(second), Boolean, 5_000);
    } finally {
      await c.stop();
    }
  }, 30_000);

  it("comes back after the broker cancels it", async () => {
    const c = await startHeldConsumer(0);
    try {
      await oneConsumerOn(c.queue, 5_000);
      // Deleting the queue is one way the broker cancels a consumer; a quorum queue losing its node is another.
      const ch = await admin.createChannel();
      await ch.deleteQueue(c.queue);
      await ch.close();
      await oneConsumerOn(c.queue, 10_000);
      const sent = await c.send();
      await waitFor("the event applied", () => c.applied.includes(sent), Boolean, 5_000);
    } finally {
      await c.stop();
    }
  }, 30_000);
});
