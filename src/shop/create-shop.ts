import type { Sql } from "postgres";
import { finishRead } from "../core/event-pipeline.ts";
import type { EventStore } from "../core/event-store.ts";
import type { RecordedEvent } from "../core/messages.ts";
import { createPersonalData } from "../core/personal-data.ts";
import { hasApplied } from "../consumers/catch-up.ts";
import { liveTables } from "../consumers/consumer-definition.ts";
import { ensureReadModel } from "../consumers/ensure-read-model.ts";
import { createPostgresEventStore } from "../store/postgres-event-store.ts";
import { createPostgresKeyStore } from "../store/postgres-key-store.ts";
import { customerPersonalData } from "./domain/customers.ts";
import { type PaymentGateway, createFakeGateway } from "./domain/payments.ts";
import { createShopRoutes } from "./http/create-shop-routes.ts";
import { shopReadModels } from "./read-models/index.ts";
import { createShopService } from "./shop-service.ts";

export type ShopOptions = { sql: Sql; readSql?: Sql; notifyChannel?: string; gateway?: PaymentGateway };

/**
 * Wires the shop from its two databases: the event store (with the customers' personal-data policy),
 * the service, the read-your-writes check over its read models, and the HTTP routes.
 */
export function createShop(options: ShopOptions) {
  const readSql = options.readSql ?? options.sql;
  const keys = createPostgresKeyStore(options.sql);
  // The store keeps keys in subject_keys on the same database, so a forget commits with its event.
  const store: EventStore = createPostgresEventStore({
    sql: options.sql,
    personalData: customerPersonalData,
    notifyChannel: options.notifyChannel,
  });
  const personalData = createPersonalData(customerPersonalData, keys);
  const gateway = options.gateway ?? createFakeGateway();
  const service = createShopService({ store, gateway });
  const byName = new Map(shopReadModels.map((d) => [d.name, d]));
  const applied = async (consumer: string, position: number) => {
    const def = byName.get(consumer);
    if (!def) throw new Error(`unknown read model ${consumer}`);
    return hasApplied({ sql: readSql, store, def, tables: liveTables(def) }, position);
  };
  return {
    store,
    service,
    gateway,
    readModels: shopReadModels,
    /** Opens sealed personal fields of delivered events, as the store does for events it reads. */
    prepare: (events: RecordedEvent[]) => finishRead(events, personalData),
    routes: createShopRoutes({ shop: service, store, readSql, hasApplied: applied }),
    hasApplied: applied,
    /** Creates missing read-model tables, so queries work before any consumer has started. */
    async ensureReadModels() {
      for (const def of shopReadModels) await ensureReadModel(readSql, def);
    },
  };
}
