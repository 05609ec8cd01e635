import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { EventStore } from "../../src/core/event-store.ts";
import { type PoisonPolicy, sweep } from "../../src/consumers/catch-up.ts";
import { type ConsumerDefinition, liveTables } from "../../src/consumers/consumer-definition.ts";
import { ensureReadModel } from "../../src/consumers/ensure-read-model.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { faults, tallyConsumer } from "../support/tally-consumer.ts";

let db: TestDatabase;
let store: EventStore;
beforeAll(async () => {
  db = await createTestDatabase();
  store = createPostgresEventStore({ sql: db.sql });
});
afterAll(async () => db.drop());

const deps = (def: ConsumerDefinition) => ({ sql: db.sql, store, def, tables: liveTables(def) });

describe("the catch-up sweep", () => {
  it("applies events of a category that holds a dot", async () => {
    const base = tallyConsumer();
    const def: ConsumerDefinition = { ...base, bindings: ["shop.tick.*"] };
    await ensureReadModel(db.sql, def);
    const s = `shop.tick-${crypto.randomUUID()}`;
    await store.appendToStream(s, [{ type: "Ticked", data: { n: 4 } }]);
    const r = await sweep(deps(def), { graceMs: 0 });
    expect(r.applied).toBe(1);
    const [row] = await db.sql<{ total: number }[]>`select total from ${db.sql(def.name)} where stream_id = ${s}`;
    expect(row?.total).toBe(4);
  });

  it("forgets an event's failure count once the event applies, so the counts cannot grow without bound", async () => {
    const def = tallyConsumer();
    await ensureReadModel(db.sql, def);
    const s = `tick-${crypto.randomUUID()}`;
    await store.appendToStream(s, [{ type: "Ticked", data: { n: 1, boom: true } }]);
    const poison: PoisonPolicy = { maxAttempts: 5, failures: new Map(), deadLetter: async () => {} };
    faults.boom = true;
    try {
      expect((await sweep(deps(def), { graceMs: 0, poison })).failed).toBeDefined();
      expect(poison.failures.size).toBe(1);
    } finally {
      faults.boom = false;
    }
    try {
      expect((await sweep(deps(def), { graceMs: 0, poison })).caughtUp).toBe(true);
      expect(poison.failures.size).toBe(0);
    } finally {
      faults.boom = true;
    }
  });
});
