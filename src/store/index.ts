export * from "./connect.ts";
export * from "./migrate.ts";
export * from "./postgres-event-store.ts";
export * from "./postgres-key-store.ts";
