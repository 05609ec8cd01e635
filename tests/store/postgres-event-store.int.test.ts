import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { describeEventStoreContract } from "../support/event-store-contract.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

let db: TestDatabase | undefined;
describeEventStoreContract("postgres", {
  create: async (options) => {
    db ??= await createTestDatabase();
    return createPostgresEventStore({ sql: db.sql, ...options });
  },
  close: async () => db?.drop(),
});
