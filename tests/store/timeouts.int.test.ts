import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { createApp } from "../../src/http/create-app.ts";
import { databases } from "../../src/processes/process-kit.ts";
import { connect } from "../../src/store/connect.ts";
import { migrate } from "../../src/store/migrate.ts";
import { assertHorizonMoving, oldestTransaction } from "../../src/store/horizon.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { amqpUrl } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

async function settingsOf(sql: ReturnType<typeof connect>) {
  const [row] = await sql<{ statement: string; lock: string; idle: string }[]>`
    select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock,
           current_setting('idle_in_transaction_session_timeout') as idle`;
  return row;
}

describe("Postgres session limits", () => {
  it("gives every process's pool a statement, lock and idle-in-transaction timeout, the API's statements the shortest", async () => {
    const config = loadConfig({ DATABASE_URL: db.url, AMQP_URL: amqpUrl() });
    for (const [role, statement] of [
      ["api", "5s"],
      ["relay", "30s"],
      ["consumer-all", "30s"],
      ["saga", "30s"],
    ] as const) {
      const pool = databases(config, role, 1);
      try {
        expect({ role, ...(await settingsOf(pool.sql)) }).toEqual({ role, statement, lock: "5s", idle: "1min" });
      } finally {
        await pool.end();
      }
    }
  });

  it("takes the limits from the environment, 0 turning one off", async () => {
    const config = loadConfig({
      DATABASE_URL: db.url,
      AMQP_URL: amqpUrl(),
      DB_STATEMENT_TIMEOUT_MS: "0",
      DB_LOCK_TIMEOUT_MS: "250",
      DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: "1500",
    });
    const pool = databases(config, "api", 1);
    try {
      expect(await settingsOf(pool.sql)).toEqual({ statement: "0", lock: "250ms", idle: "1500ms" });
    } finally {
      await pool.end();
    }
  });

  it("ends an abandoned transaction, releasing what it locked", async () => {
    const app = `abandon-${crypto.randomUUID().slice(0, 8)}`;
    const sql = connect(db.url, {
      max: 1,
      schema: db.schema,
      applicationName: app,
      timeouts: { statementMs: 0, lockMs: 0, idleInTransactionMs: 200 },
    });
    const session = await sql.reserve();
    await session`begin`;
    await session`select pg_advisory_xact_lock(4242)`;
    await Bun.sleep(600);
    const [row] = await db.sql<{ free: boolean; left: number }[]>`
      select pg_try_advisory_xact_lock(4242) as free,
             (select count(*)::int from pg_stat_activity where application_name = ${app}) as left`;
    expect(row).toEqual({ free: true, left: 0 });
    // The session is never touched again: writing to a socket the server closed is the driver race the
    // processes' crash guard survives (see crash-guard.ts), which a test runner reports as an error.
  });
});

describe("a transaction holding the gap-safe horizon back", () => {
  it("is measured, and fails /ready past the threshold with what holds it", async () => {
    const other = connect(db.url, { max: 1, schema: db.schema, applicationName: "forgotten-psql" });
    const held = await other.reserve();
    await held`begin`;
    await held`select pg_current_xact_id()`;
    try {
      await Bun.sleep(1_200);
      expect((await oldestTransaction(db.sql)).ageSeconds).toBeGreaterThanOrEqual(1);
      const app = createApp({ ready: () => assertHorizonMoving(db.sql, 1) });
      const res = await app.request("/ready");
      expect(res.status).toBe(503);
      expect(JSON.stringify(await res.json())).toContain("forgotten-psql");
      expect((await createApp({ ready: () => assertHorizonMoving(db.sql, 60) }).request("/ready")).status).toBe(200);
    } finally {
      await held`rollback`;
      held.release();
      await other.end();
    }
  });
});

describe("a log restored into another cluster", () => {
  it("says so instead of reading nothing, and reads again after the documented renumbering", async () => {
    const restored = await createTestDatabase();
    try {
      const store = createPostgresEventStore({ sql: restored.sql });
      await restored.sql`
        insert into eventline_events (transaction_id, event_id, stream_id, category, version, type, data, metadata)
        values ('900000000000'::xid8, ${crypto.randomUUID()}, 'old-1', 'old', 1, 'Happened', '{}', '{}')`;
      await expect(store.readAll()).rejects.toThrow("which this database has not reached");
      // The restore step of docs/operations.md (Restoring a dump into another cluster).
      await restored.sql.begin(async (tx) => {
        await tx`update eventline_events set transaction_id = '1'::xid8`;
        await tx`update eventline_consumer_checkpoints set transaction_id = '1'::xid8 where transaction_id <> '0'::xid8`;
      });
      expect((await store.readAll()).events.map((e) => e.streamId)).toEqual(["old-1"]);
    } finally {
      await restored.drop();
    }
  });
});

/** A fresh database of this baseline, dropped after `use` whatever it did. */
async function withDatabase(use: (sql: TestDatabase["sql"]) => Promise<void>): Promise<void> {
  const db = await createTestDatabase();
  try {
    await use(db.sql);
  } finally {
    await db.drop();
  }
}

describe("a database made before the baseline schema", () => {
  it("is refused by migrate with what to do, instead of being taken for up to date", () =>
    withDatabase(async (sql) => {
      await sql`insert into eventline_migrations (version, name) values (9, '009_outbox_parking.sql')`;
      await expect(migrate(sql)).rejects.toThrow("from before the baseline schema");
    }));

  it("is refused when made by an earlier form of the baseline, whose text differs from this one's", () =>
    withDatabase(async (sql) => {
      await sql`update eventline_migrations set checksum = 'an earlier text' where name = '001_baseline.sql'`;
      await expect(migrate(sql)).rejects.toThrow("applied 001_baseline.sql from another text than this eventline's");
    }));

  it("is refused when its migrations were recorded before they had checksums", () =>
    withDatabase(async (sql) => {
      await sql`alter table eventline_migrations drop column checksum`;
      await expect(migrate(sql)).rejects.toThrow("applied 001_baseline.sql, 002_saga_origin.sql from another text");
    }));

  it("is migrated again without complaint when nothing changed", () =>
    withDatabase(async (sql) => {
      expect(await migrate(sql)).toEqual([]);
    }));
});
