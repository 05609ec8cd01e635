import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import amqp from "amqplib";
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import { finishRead } from "../../src/core/event-pipeline.ts";
import type { EventStore } from "../../src/core/event-store.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import { createPersonalData, type PersonalDataPolicy, REDACTED } from "../../src/core/personal-data.ts";
import type { ConsumerDefinition } from "../../src/consumers/consumer-definition.ts";
import { createConsumer } from "../../src/consumers/consumer-runtime.ts";
import { listDeadLetters } from "../../src/consumers/dead-letters.ts";
import { queueNames } from "../../src/consumers/topology.ts";
import { createLogger } from "../../src/log.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { createPostgresKeyStore } from "../../src/store/postgres-key-store.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { createShopHarness } from "../support/shop-harness.ts";
import { createPublisher } from "../support/tally-consumer.ts";

const quiet = createLogger({ role: "test" }, "error");
const policy: PersonalDataPolicy = {
  Registered: { subject: (d) => String(d.personId), fields: ["name"] },
};
let db: TestDatabase;
let store: EventStore;
const exchange = `test.pii.${crypto.randomUUID().slice(0, 8)}`;
const used: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  store = createPostgresEventStore({ sql: db.sql, personalData: policy });
});
afterAll(async () => {
  await deleteBrokerObjects(amqpUrl(), { consumers: used, exchanges: [exchange] });
  await db.drop();
});

const register = (personId: string, name: string) => ({ type: "Registered", data: { personId, name } });

describe("forgetting a subject", () => {
  it("leaves a tombstone: an event sealed for the subject after the forget makes no new key and reads redacted", async () => {
    const personId = crypto.randomUUID();
    const s = `person-${personId}`;
    await store.appendToStream(s, [register(personId, "Ada")]);
    await store.forgetSubject(personId);
    // A command that decided before the forget appends after it.
    await store.appendToStream(s, [register(personId, "Ada again")]);
    const events = await store.readStream(s);
    expect(events.map((e) => (e.data as { name: string }).name)).toEqual([REDACTED, REDACTED]);
    const [row] = await db.sql<{ keys: number }[]>`
      select count(*)::int as keys from eventline_subject_keys where subject_id = ${personId} and key is not null`;
    expect(row?.keys).toBe(0);
    expect(JSON.stringify(await db.sql`select data from eventline_events where stream_id = ${s}`)).not.toContain("Ada");
  });

  it("reads a sealed field that cannot be opened as redacted instead of failing the whole read", async () => {
    const personId = crypto.randomUUID();
    const s = `person-${personId}`;
    await store.appendToStream(s, [register(personId, "Grace")]);
    await db.sql`update eventline_events set data = jsonb_set(data, '{name,ct}', '"AAAAAAAAAAAAAAAAAAAAAAAA"') where stream_id = ${s}`;
    const [event] = await store.readStream(s);
    expect((event?.data as { name?: string } | undefined)?.name).toBe(REDACTED);
  });

  it("commits the erasure with its event: when forgetting fails, no event and no idempotent answer remain", async () => {
    const h = await createShopHarness();
    try {
      const customerId = (await h.call("POST", "/customers", { name: "Eve", email: "eve@example.com" })).body
        .customerId as string;
      await h.db.sql.unsafe(`
        create function refuse_forget() returns trigger language plpgsql as $$
        begin raise exception 'key store unavailable'; end $$;
        create trigger refuse_forget before insert or update or delete on eventline_subject_keys for each row execute function refuse_forget();`);
      const key = crypto.randomUUID();
      const failed = await h.call("DELETE", `/customers/${customerId}/personal-data`, undefined, { "idempotency-key": key });
      expect(failed.status).toBe(500);
      const types = (await h.shop.store.readStream(`customer-${customerId}`)).map((e) => e.type);
      expect(types).not.toContain("PersonalDataForgotten");
      expect(await h.shop.store.idempotencyRecord(key)).toBeUndefined();
      await h.db.sql.unsafe("drop trigger refuse_forget on eventline_subject_keys");
      const done = await h.call("DELETE", `/customers/${customerId}/personal-data`, undefined, { "idempotency-key": key });
      expect(done.status).toBe(200);
      const events = await h.shop.store.readStream(`customer-${customerId}`);
      expect((events[0]?.data as { name?: string } | undefined)?.name).toBe(REDACTED);
    } finally {
      await h.close();
    }
  });
});

async function deadLetterBodies(consumer: string): Promise<string[]> {
  const conn = await amqp.connect(amqpUrl());
  try {
    const ch = await conn.createChannel();
    const bodies: string[] = [];
    for (let m = await ch.get(queueNames(consumer).dead); m; m = await ch.get(queueNames(consumer).dead)) {
      bodies.push(m.content.toString());
    }
    await ch.close();
    return bodies;
  } finally {
    await conn.close();
  }
}

describe("a consumer and personal data", () => {
  const keys = () => createPostgresKeyStore(db.sql);
  const prepare = (events: RecordedEvent[]) => finishRead(events, createPersonalData(policy, keys()));

  function refusing(name: string, seen: string[]): ConsumerDefinition {
    return {
      name,
      bindings: ["person.#"],
      tables: {},
      handlers: {
        Registered: async ({ event }) => {
          seen.push((event.data as { name: string }).name);
          throw new Error("this read model refuses everything");
        },
      },
    };
  }

  it("dead-letters from the catch-up sweep only the sealed form of an event, never its personal data in clear", async () => {
    const personId = crypto.randomUUID();
    await store.appendToStream(`person-${personId}`, [register(personId, "Margaret Hamilton")]);
    const name = `pii_${crypto.randomUUID().slice(0, 8)}`;
    used.push(name);
    const seen: string[] = [];
    const broker = connectBroker(amqpUrl(), quiet, "test-pii");
    const consumer = createConsumer({
      def: refusing(name, seen),
      sql: db.sql,
      store,
      broker,
      exchange,
      log: quiet,
      maxAttempts: 1,
      retry: { baseMs: 10, maxMs: 20 },
      sweep: { everyMs: 60_000, graceMs: 0 },
      prepare,
    });
    try {
      await consumer.start();
      const bodies = (await deadLetterBodies(name)).filter((b) => b.includes(personId));
      expect(bodies).toHaveLength(1);
      expect(seen).toContain("Margaret Hamilton");
      for (const body of bodies) {
        expect(body).not.toContain("Margaret Hamilton");
        expect(body).toContain('"$pii":1');
      }
    } finally {
      await consumer.stop();
      await broker.close();
    }
  });

  it("retries and then dead-letters a delivery it cannot prepare, instead of requeueing it for ever", async () => {
    const name = `prep_${crypto.randomUUID().slice(0, 8)}`;
    used.push(name);
    const broker = connectBroker(amqpUrl(), quiet, "test-prepare");
    const consumer = createConsumer({
      def: { name, bindings: ["guest.#"], tables: {}, handlers: { Registered: async () => {} } },
      sql: db.sql,
      store,
      broker,
      exchange,
      log: quiet,
      maxAttempts: 2,
      retry: { baseMs: 10, maxMs: 20 },
      sweep: { everyMs: 60_000, graceMs: 60_000 },
      prepare: async () => {
        throw new Error("cannot open this event");
      },
    });
    const publisher = await createPublisher(exchange);
    try {
      await consumer.start();
      const personId = crypto.randomUUID();
      const { events } = await store.appendToStream(`guest-${personId}`, [register(personId, "Hedy")]);
      await publisher.publish(events[0] as RecordedEvent);
      const conn = await amqp.connect(amqpUrl());
      try {
        const deadline = Date.now() + 10_000;
        let dead: Awaited<ReturnType<typeof listDeadLetters>> = [];
        while (dead.length === 0 && Date.now() < deadline) {
          await Bun.sleep(100);
          dead = await listDeadLetters(conn, name);
        }
        expect(dead.map((d) => d.reason)).toEqual(["cannot open this event"]);
      } finally {
        await conn.close();
      }
    } finally {
      await publisher.close();
      await consumer.stop();
      await broker.close();
    }
  });
});
