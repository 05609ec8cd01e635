import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { applyEventBatch } from "../../src/consumers/apply-batch.ts";
import { type ConsumerDefinition, liveTables } from "../../src/consumers/consumer-definition.ts";
import { ensureReadModel } from "../../src/consumers/ensure-read-model.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ max: 4 });
});
afterAll(async () => db.drop());

/** A per-event read model that logs each apply and counts how many of its handlers were running at once. */
function watched(name: string, options: { sequential?: boolean; failOn?: string; sqlFailOn?: string } = {}) {
  const seen = { running: 0, mostAtOnce: 0, finished: 0 };
  const def: ConsumerDefinition = {
    name,
    bindings: ["pipe.#"],
    sequential: options.sequential,
    tables: {
      [name]: (t) =>
        `create table ${t} (seq bigint generated always as identity primary key, stream_id text not null, version int not null)`,
    },
    handlers: {
      Piped: async ({ tx, tables, event }) => {
        seen.running++;
        seen.mostAtOnce = Math.max(seen.mostAtOnce, seen.running);
        try {
          if (event.eventId === options.failOn) throw new Error("this handler refuses its event");
          // A statement that fails in Postgres aborts the transaction under every other stream's handlers.
          if (event.eventId === options.sqlFailOn) await tx`select 1 / 0`;
          await tx`insert into ${tx(tables[name] as string)} (stream_id, version) values (${event.streamId}, ${event.version})`;
        } finally {
          seen.running--;
          seen.finished++;
        }
      },
    },
  };
  return { def, seen };
}

async function eventsIn(streams: number, versions: number): Promise<RecordedEvent[]> {
  const store = createPostgresEventStore({ sql: db.sql });
  const tag = crypto.randomUUID().slice(0, 8);
  const events: RecordedEvent[] = [];
  for (let s = 0; s < streams; s++) {
    const r = await store.appendToStream(
      `pipe-${tag}${s}`,
      Array.from({ length: versions }, () => ({ type: "Piped", data: {} })),
    );
    events.push(...r.events);
  }
  return events.sort((a, b) => a.position - b.position);
}

/** The versions each stream's handlers wrote, in the order they wrote them. */
async function versionsByStream(def: ConsumerDefinition): Promise<number[][]> {
  const log = await db.sql<
    { stream_id: string; version: number }[]
  >`select stream_id, version from ${db.sql(def.name)} order by seq`;
  const byStream = new Map<string, number[]>();
  for (const r of log) byStream.set(r.stream_id, [...(byStream.get(r.stream_id) ?? []), r.version]);
  return [...byStream.values()];
}

describe("per-event handlers in one batch", () => {
  it("run different streams' handlers at once and each stream's in version order", async () => {
    const { def, seen } = watched(`pipe_${crypto.randomUUID().slice(0, 8)}`);
    await ensureReadModel(db.sql, def);
    const events = await eventsIn(8, 5);
    // Interleaved across streams, as deliveries come.
    const batch = [...events].sort((a, b) => a.version - b.version || a.position - b.position);
    const outcomes = await applyEventBatch({ sql: db.sql, def, tables: liveTables(def) }, batch);
    expect(outcomes.every((o) => o === "applied")).toBe(true);
    expect(seen.mostAtOnce).toBe(8);
    expect(await versionsByStream(def)).toEqual(Array.from({ length: 8 }, () => [1, 2, 3, 4, 5]));
  });

  it("run at most 64 streams at once, below the driver's pipeline limit, and still apply every stream in order", async () => {
    const { def, seen } = watched(`pipe_${crypto.randomUUID().slice(0, 8)}`);
    await ensureReadModel(db.sql, def);
    const events = await eventsIn(200, 2);
    const outcomes = await applyEventBatch({ sql: db.sql, def, tables: liveTables(def) }, events);
    expect(outcomes.every((o) => o === "applied")).toBe(true);
    expect(seen.mostAtOnce).toBe(64);
    expect(await versionsByStream(def)).toEqual(Array.from({ length: 200 }, () => [1, 2]));
  });

  it("run one at a time in log order when the read model is sequential", async () => {
    const { def, seen } = watched(`pipe_${crypto.randomUUID().slice(0, 8)}`, { sequential: true });
    await ensureReadModel(db.sql, def);
    const events = await eventsIn(4, 3);
    await applyEventBatch({ sql: db.sql, def, tables: liveTables(def) }, events);
    expect(seen.mostAtOnce).toBe(1);
    const log = await db.sql<
      { stream_id: string; version: number }[]
    >`select stream_id, version from ${db.sql(def.name)} order by seq`;
    expect(log.map((r) => `${r.stream_id}@${r.version}`)).toEqual(events.map((e) => `${e.streamId}@${e.version}`));
  });

  it("roll the whole batch back when one handler fails, after every other stream's handlers have finished", async () => {
    const events = await eventsIn(6, 2);
    const poisoned = events[3] as RecordedEvent;
    const { def, seen } = watched(`pipe_${crypto.randomUUID().slice(0, 8)}`, { failOn: poisoned.eventId });
    await ensureReadModel(db.sql, def);
    await expect(applyEventBatch({ sql: db.sql, def, tables: liveTables(def) }, events)).rejects.toThrow(
      "this handler refuses its event",
    );
    expect(seen.running).toBe(0);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from ${db.sql(def.name)}`;
    expect(row?.n).toBe(0);
    const [applied] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from eventline_inbox where consumer = ${def.name}`;
    expect(applied?.n).toBe(0);
  });

  it("report the statement that failed, not the aborted transaction the other streams then met", async () => {
    const events = await eventsIn(6, 3);
    const { def } = watched(`pipe_${crypto.randomUUID().slice(0, 8)}`, { sqlFailOn: (events[4] as RecordedEvent).eventId });
    await ensureReadModel(db.sql, def);
    await expect(applyEventBatch({ sql: db.sql, def, tables: liveTables(def) }, events)).rejects.toThrow("division by zero");
  });

  it("refuse a savepoint, which would span other streams' statements", async () => {
    const name = `pipe_${crypto.randomUUID().slice(0, 8)}`;
    const def: ConsumerDefinition = {
      name,
      bindings: ["pipe.#"],
      tables: { [name]: (t) => `create table ${t} (stream_id text primary key)` },
      handlers: {
        Piped: async ({ tx, tables, event }) => {
          await tx.savepoint((sp) => sp`insert into ${sp(tables[name] as string)} values (${event.streamId})`);
        },
      },
    };
    await ensureReadModel(db.sql, def);
    const events = await eventsIn(2, 1);
    await expect(applyEventBatch({ sql: db.sql, def, tables: liveTables(def) }, events)).rejects.toThrow("set sequential: true");
    const outcomes = await applyEventBatch({ sql: db.sql, def: { ...def, sequential: true }, tables: liveTables(def) }, events);
    expect(outcomes).toEqual(["applied", "applied"]);
  });
});
