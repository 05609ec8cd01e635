/** `eventline/postgres`: the event store, its migrations and key store, and read-model helpers on Postgres. */

/** The Postgres event store: group-committed appends with their outbox rows, reads, snapshots. */
export {
  createPostgresEventStore,
  DEFAULT_NOTIFY_CHANNEL,
  type PostgresEventStoreOptions,
} from "./store/postgres-event-store.ts";
/** A postgres.js connection with eventline's session limits and schema. */
export { connect, type ConnectOptions, type SessionTimeouts } from "./store/connect.ts";
/** Applies eventline's migrations (its tables are named eventline_*). */
export { listMigrations, migrate, type Migration } from "./store/migrate.ts";
/** Subject keys for personal data in eventline_subject_keys. */
export { createPostgresKeyStore } from "./store/postgres-key-store.ts";
/** Creates a read model's tables when missing. */
export { ensureReadModel } from "./consumers/ensure-read-model.ts";
/** Rebuilds a read model from the log into fresh tables and swaps them in. */
export { rebuildReadModel, type RebuildOptions, type RebuildProgress } from "./consumers/rebuild.ts";
/** A read model's lag behind the log, and whether it has applied a position yet. */
export { consumerLag, hasApplied, type Lag } from "./consumers/catch-up.ts";
/** A read model's live table names (what `consumerLag` and `hasApplied` take as `tables`). */
export { liveTables } from "./consumers/consumer-definition.ts";
/** Saga instances: list them, or retry one that needs attention. */
export { listSagas, retrySaga, type SagaInstance } from "./sagas/saga-store.ts";
/** The outbox: depth and parked streams, and releasing them. */
export { outboxStatus, releaseAllStreams, releaseStream, type OutboxStatus } from "./outbox/outbox-queries.ts";
