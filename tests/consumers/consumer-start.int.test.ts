import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import amqp from "amqplib";
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import type { ConsumerDefinition } from "../../src/consumers/consumer-definition.ts";
import { createConsumer, startConsumers } from "../../src/consumers/consumer-runtime.ts";
import { queueNames } from "../../src/consumers/topology.ts";
import { createLogger } from "../../src/log.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

const quiet = createLogger({ role: "test" }, "error");
const exchange = `test.start.${crypto.randomUUID().slice(0, 8)}`;
const tag = crypto.randomUUID().slice(0, 8);
let db: TestDatabase;
let admin: amqp.ChannelModel;

beforeAll(async () => {
  db = await createTestDatabase({ max: 8 });
  admin = await amqp.connect(amqpUrl());
});

const names = { slow: `slow_${tag}`, other: `other_${tag}` };
afterAll(async () => {
  await deleteBrokerObjects(amqpUrl(), { consumers: Object.values(names), exchanges: [exchange] });
  await admin.close();
  await db.drop();
});

/** A read model that takes `msPerEvent` for each event of its category. */
const readModel = (name: string, category: string, msPerEvent: number): ConsumerDefinition => ({
  name,
  bindings: [`${category}.#`],
  tables: { [name]: (t) => `create table ${t} (n int)` },
  handlers: { Ticked: () => new Promise((r) => setTimeout(r, msPerEvent)) },
});

async function queueExists(name: string): Promise<boolean> {
  const ch = await admin.createChannel();
  ch.on("error", () => {});
  try {
    await ch.checkQueue(name);
    await ch.close();
    return true;
  } catch {
    return false;
  }
}

describe("a process's consumers starting together", () => {
  it("have every consumer's queue declared while the first one is still catching up a long log", async () => {
    const store = createPostgresEventStore({ sql: db.sql });
    // One stream, so the catch-up applies its 300 events one after another: 3 s at 10 ms each.
    await store.appendToStream(
      `slowcat${tag}-1`,
      Array.from({ length: 300 }, () => ({ type: "Ticked", data: {} })),
    );
    const broker = connectBroker(amqpUrl(), quiet, "test-start");
    const consumers = [readModel(names.slow, `slowcat${tag}`, 10), readModel(names.other, `othercat${tag}`, 0)].map((def) =>
      createConsumer({ def, sql: db.sql, store, broker, exchange, log: quiet, sweep: { everyMs: 200, graceMs: 60_000 } }),
    );
    let started = false;
    const starting = startConsumers(consumers).then(() => {
      started = true;
    });
    const deadline = Date.now() + 2_000;
    let declared = false;
    while (!declared && Date.now() < deadline) {
      declared = await queueExists(queueNames(names.other).main);
      if (!declared) await Bun.sleep(50);
    }
    const declaredDuringCatchUp = declared && !started;
    await starting;
    for (const c of consumers) await c.stop();
    await broker.close();
    expect({ declared, declaredDuringCatchUp }).toEqual({ declared: true, declaredDuringCatchUp: true });
  }, 20_000);
});
