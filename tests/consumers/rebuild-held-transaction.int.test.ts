import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { EventStore } from "../../src/core/event-store.ts";
import { applyEvent } from "../../src/consumers/apply-event.ts";
import { sweep } from "../../src/consumers/catch-up.ts";
import { liveTables } from "../../src/consumers/consumer-definition.ts";
import { ensureReadModel } from "../../src/consumers/ensure-read-model.ts";
import { rebuildReadModel } from "../../src/consumers/rebuild.ts";
import { connect } from "../../src/store/connect.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { tallyConsumer } from "../support/tally-consumer.ts";

let db: TestDatabase;
let store: EventStore;

beforeAll(async () => {
  db = await createTestDatabase({ max: 20 });
  store = createPostgresEventStore({ sql: db.sql, notifyChannel: `rb_${crypto.randomUUID().slice(0, 8)}` });
});
afterAll(async () => db.drop());

const tick = (n: number) => ({ type: "Ticked", data: { n } });

describe("a rebuild while another transaction is held open", () => {
  it("keeps every event the live consumer had applied, though the gap-safe horizon hides it", async () => {
    const def = tallyConsumer();
    await ensureReadModel(db.sql, def);
    const deps = { sql: db.sql, store, def, tables: liveTables(def) };
    const s = `tick-${crypto.randomUUID()}`;
    for (let n = 1; n <= 3; n++) {
      const r = await store.appendToStream(s, [tick(n)]);
      await applyEvent(deps, r.events[0] as never);
    }
    // Some other client's transaction, with an xid, left open: everything committed after it is past the horizon.
    const other = connect(db.url, { max: 1, schema: db.schema });
    const held = await other.reserve();
    await held`begin`;
    await held`select pg_current_xact_id()`;
    try {
      const late = await store.appendToStream(s, [tick(10)]);
      // The broker delivered it and the live consumer applied it (inbox row written, version moved).
      expect((await applyEvent(deps, late.events[0] as never)).status).toBe("applied");
      await rebuildReadModel({ sql: db.sql, store, def });
    } finally {
      await held`rollback`;
      held.release();
      await other.end();
    }
    await sweep(deps, { graceMs: 0 });
    const [row] = await db.sql<{ total: number; events: number }[]>`
      select total, events from ${db.sql(def.name)} where stream_id = ${s}`;
    expect(row).toEqual({ total: 16, events: 4 });
  });

  it("refuses a second rebuild of the same read model while one is running", async () => {
    const def = tallyConsumer();
    await ensureReadModel(db.sql, def);
    for (let i = 0; i < 3000; i += 500) {
      await store.append(
        Array.from({ length: 500 }, () => ({
          streamId: `tick-${crypto.randomUUID()}`,
          expectedVersion: "any" as const,
          events: [tick(1)],
        })),
      );
    }
    const outcomes = await Promise.allSettled([
      rebuildReadModel({ sql: db.sql, store, def, batchSize: 100 }),
      Bun.sleep(50).then(() => rebuildReadModel({ sql: db.sql, store, def, batchSize: 100 })),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
    const failure = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
    expect(String(failure.reason)).toContain("already being rebuilt");
    const [{ n }] = (await db.sql`select count(*)::int as n from ${db.sql(def.name)}`) as unknown as [{ n: number }];
    expect(n).toBeGreaterThanOrEqual(3000);
  });

  it("applies a stream's events in version order where the log's transaction order disagrees", async () => {
    const def = tallyConsumer();
    await ensureReadModel(db.sql, def);
    const s = `tick-${crypto.randomUUID()}`;
    // Version 2 written by an older transaction than version 1, as when a batch that locked another
    // stream first writes this stream's next version after a younger transaction wrote the one before.
    for (const [version, xid, n] of [
      [1, "5", 1],
      [2, "4", 2],
      [3, "6", 4],
    ] as const) {
      await db.sql`insert into eventline_events (transaction_id, event_id, stream_id, category, version, type, data, metadata)
                   values (${xid}::xid8, ${crypto.randomUUID()}, ${s}, 'tick', ${version}, 'Ticked', ${db.sql.json({ n })}, '{}')`;
    }
    await rebuildReadModel({ sql: db.sql, store, def });
    const [row] = await db.sql<{ total: number; events: number }[]>`
      select total, events from ${db.sql(def.name)} where stream_id = ${s}`;
    expect(row).toEqual({ total: 7, events: 3 });
  });
});
