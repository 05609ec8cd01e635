import type { Hono } from "hono";
import type { Sql } from "postgres";
import { hasApplied } from "../consumers/catch-up.ts";
import { type ConsumerDefinition, liveTables } from "../consumers/consumer-definition.ts";
import { ensureReadModel } from "../consumers/ensure-read-model.ts";
import { finishRead } from "../core/event-pipeline.ts";
import type { EventStore } from "../core/event-store.ts";
import type { RecordedEvent } from "../core/messages.ts";
import { createPersonalData } from "../core/personal-data.ts";
import { createLogger, type Logger } from "../log.ts";
import type { SagaDefinition } from "../sagas/saga-definition.ts";
import { createPostgresEventStore, DEFAULT_NOTIFY_CHANNEL } from "../store/postgres-event-store.ts";
import { createPostgresKeyStore } from "../store/postgres-key-store.ts";
import type { AppContext, AppDefinition, ServicesContext } from "./define-app.ts";

export type WireOptions<C> = {
  sql: Sql;
  readSql?: Sql;
  notifyChannel?: string;
  role?: string;
  log?: Logger;
  fault?: string;
  /** The app's settings; parsed from `env` (default: the process's) by the app's `config` when not given. */
  appConfig?: C;
  env?: Record<string, string | undefined>;
};

export type WiredApp<C, S> = {
  app: AppDefinition<C, S>;
  context: ServicesContext<C, S>;
  store: EventStore;
  services: S;
  readModels: ConsumerDefinition[];
  /**
   * What a consumer does to each event as stored (a delivery, or a sealed read of the sweep) before its
   * handlers see it: opens personal fields and upcasts, as the store does for the events it reads.
   * Undefined when the app has neither a personal-data policy nor upcasters.
   */
  prepare?: (events: RecordedEvent[]) => Promise<RecordedEvent[]>;
  /**
   * The same for saga starters, but personal fields stay sealed: a saga's data is stored in clear and
   * outlives a forget, so a step that needs personal data reads it from the store when it runs.
   */
  prepareSealed?: (events: RecordedEvent[]) => Promise<RecordedEvent[]>;
  hasApplied: (consumer: string, position: number) => Promise<boolean>;
  routes: () => Hono[];
  // biome-ignore lint/suspicious/noExplicitAny: sagas of different data types run side by side.
  sagas: () => SagaDefinition<any>[];
  /** Creates missing read-model tables, so queries work before any consumer has started. */
  ensureReadModels: () => Promise<void>;
};

/**
 * A saga's type names its starter consumer (queue, inbox, checkpoint) and its instances, so it must be an
 * identifier, unique, and no read model's name: two consumers of one name would split one queue.
 */
// biome-ignore lint/suspicious/noExplicitAny: sagas of different data types run side by side.
function checkedSagas(sagas: SagaDefinition<any>[], readModels: ConsumerDefinition[]): SagaDefinition<any>[] {
  const taken = new Set(readModels.map((d) => d.name));
  for (const saga of sagas) {
    if (!/^[a-z][a-z0-9_]*$/.test(saga.type)) throw new TypeError(`saga type ${saga.type} must be a lower-case identifier`);
    if (taken.has(saga.type)) throw new TypeError(`saga type ${saga.type} is already the name of a read model or another saga`);
    taken.add(saga.type);
  }
  return sagas;
}

/**
 * Builds an app's parts on given connections: the event store with the app's personal-data policy and
 * upcasters, its services, and lazily its routes and sagas. Every process runner and test wires an app so.
 */
export function wireApp<C, S>(app: AppDefinition<C, S>, options: WireOptions<C>): WiredApp<C, S> {
  const { sql } = options;
  const readSql = options.readSql ?? sql;
  const notifyChannel = options.notifyChannel ?? DEFAULT_NOTIFY_CHANNEL;
  const log = options.log ?? createLogger({ role: options.role ?? "app" }, "warn");
  // The store keeps keys in eventline_subject_keys on the same database, so a forget commits with its event.
  const store = createPostgresEventStore({
    sql,
    personalData: app.personalData,
    upcasters: app.upcasters,
    notifyChannel,
  });
  const personalData = app.personalData ? createPersonalData(app.personalData, createPostgresKeyStore(sql)) : undefined;
  const appConfig = options.appConfig ?? (app.config ? app.config(options.env ?? process.env) : (undefined as C));
  const base: AppContext<C> = {
    role: options.role ?? "app",
    sql,
    readSql,
    store,
    log,
    config: appConfig,
    notifyChannel,
    fault: options.fault,
  };
  const services = app.services ? app.services(base) : (undefined as S);
  const readModels = app.readModels ?? [];
  const byName = new Map(readModels.map((d) => [d.name, d]));
  const applied = async (consumer: string, position: number) => {
    const def = byName.get(consumer);
    if (!def) throw new Error(`unknown read model ${consumer}`);
    return hasApplied({ sql: readSql, store, def, tables: liveTables(def) }, position);
  };
  const context: ServicesContext<C, S> = { ...base, services, hasApplied: applied };
  return {
    app,
    context,
    store,
    services,
    readModels,
    prepare: personalData || app.upcasters ? (events) => finishRead(events, personalData, app.upcasters) : undefined,
    prepareSealed: personalData || app.upcasters ? (events) => finishRead(events, undefined, app.upcasters) : undefined,
    hasApplied: applied,
    routes: () => app.routes?.(context) ?? [],
    sagas: () => checkedSagas(app.sagas?.(context) ?? [], readModels),
    async ensureReadModels() {
      for (const def of readModels) await ensureReadModel(readSql, def);
    },
  };
}
