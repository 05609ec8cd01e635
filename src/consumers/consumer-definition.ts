import type { TransactionSql } from "postgres";
import type { Event, RecordedEvent } from "../core/messages.ts";

/** What a handler gets: the transaction the inbox row commits in, and the physical names of its tables. */
export type HandlerContext = { tx: TransactionSql; tables: Record<string, string>; event: RecordedEvent };
export type EventHandler = (context: HandlerContext) => Promise<void>;
/** A set-based handler's context: several events, in log order (each stream's in version order). */
export type BatchHandlerContext = { tx: TransactionSql; tables: Record<string, string>; events: RecordedEvent[] };

/**
 * A consumer keeps one read model: its tables (DDL given the physical table name, so a rebuild can create
 * fresh copies), the routing-key patterns it binds, and a handler per event type it cares about.
 */
export type ConsumerDefinition = {
  name: string;
  bindings: string[];
  tables: Record<string, (table: string) => string>;
  handlers: Record<string, EventHandler>;
  /**
   * Optional set-based handler. When given it is used instead of `handlers` wherever events come in
   * batches (rebuilds, catch-up, batched deliveries): one statement for a thousand events instead of a
   * thousand round trips. It must leave the same rows as handling the events one by one would.
   */
  handleBatch?: (context: BatchHandlerContext) => Promise<void>;
  /**
   * Handlers of different streams run interleaved in one transaction (each stream's events still in
   * version order), so a row that several streams write must be changed in single statements (an upsert,
   * `n = n + 1`), never read into a handler and written back; savepoints are refused and `set local`
   * would reach the other streams' statements too. `sequential: true` runs them one at a time in log
   * order instead, at a round trip per statement.
   */
  sequential?: boolean;
};

export function assertConsumerDefinition(def: ConsumerDefinition): void {
  if (!/^[a-z][a-z0-9_]*$/.test(def.name)) throw new TypeError(`consumer name ${def.name} must be a lower-case identifier`);
  if (def.bindings.length === 0) throw new TypeError(`consumer ${def.name} binds no routing key`);
  for (const t of Object.keys(def.tables)) {
    if (!/^[a-z][a-z0-9_]*$/.test(t)) throw new TypeError(`table ${t} of ${def.name} must be a lower-case identifier`);
  }
}

/** The live physical table names: the logical names themselves. */
export function liveTables(def: ConsumerDefinition): Record<string, string> {
  return Object.fromEntries(Object.keys(def.tables).map((t) => [t, t]));
}

/** A read model typed by the events it handles (`E`) and its table names (`T`). */
export type ReadModelDefinition<E extends Event, T extends string> = {
  name: string;
  bindings: string[];
  tables: Record<T, (table: string) => string>;
  handlers: {
    [K in E["type"]]?: (context: {
      tx: TransactionSql;
      tables: Record<T, string>;
      event: RecordedEvent<Extract<E, { type: K }>>;
    }) => Promise<void>;
  };
  handleBatch?: (context: { tx: TransactionSql; tables: Record<T, string>; events: RecordedEvent<E>[] }) => Promise<void>;
  /** See ConsumerDefinition.sequential. */
  sequential?: boolean;
};

/**
 * Types a read model: `defineReadModel<InvoiceEvent>()({ name, bindings, tables, handlers })`. Each handler is
 * keyed by an event type of `E` and gets that event's data; `tables` holds exactly the names declared.
 * A handler is trusted with the type its key names: the bindings decide which streams' events arrive.
 */
export function defineReadModel<E extends Event>() {
  return <T extends string>(definition: ReadModelDefinition<E, T>): ConsumerDefinition => {
    const def = definition as unknown as ConsumerDefinition;
    assertConsumerDefinition(def);
    return def;
  };
}
