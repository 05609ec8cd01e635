import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { describeEventStoreContract } from "../support/event-store-contract.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

// The same contract on the one-transaction-per-append path (group commit off), which appends carrying an
// idempotency record always take.
let db: TestDatabase | undefined;
describeEventStoreContract("postgres without group commit", {
  create: async (options) => {
    db ??= await createTestDatabase();
    return createPostgresEventStore({ sql: db.sql, groupCommit: false, ...options });
  },
  close: async () => db?.drop(),
});
