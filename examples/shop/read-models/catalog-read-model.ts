import { defineReadModel } from "eventline";
import type { CatalogEvent } from "../domain/catalog.ts";
import type { InventoryEvent } from "../domain/inventory.ts";

/** Products with their current price, and stock per sku (available = on hand − reserved). */
export const catalogReadModel = defineReadModel<CatalogEvent | InventoryEvent>()({
  name: "catalog",
  // The catalog owns the sku claims too. They need no handler, but a category nobody binds would come
  // back from the broker as unroutable and, after the relay's retries, park its streams.
  bindings: ["product.#", "inventory.#", "sku.#"],
  tables: {
    shop_products: (t) =>
      `create table ${t} (product_id uuid primary key, sku text not null unique, name text not null, price bigint not null, version bigint not null)`,
    shop_stock: (t) =>
      `create table ${t} (sku text primary key, on_hand bigint not null default 0, reserved bigint not null default 0)`,
  },
  handlers: {
    ProductAdded: async ({ tx, tables, event }) => {
      const d = event.data;
      await tx`insert into ${tx(tables.shop_products)} (product_id, sku, name, price, version)
               values (${d.productId}, ${d.sku}, ${d.name}, ${d.price}, ${event.version})`;
    },
    PriceChanged: async ({ tx, tables, event }) => {
      const d = event.data;
      await tx`update ${tx(tables.shop_products)} set price = ${d.price}, version = ${event.version} where product_id = ${d.productId}`;
    },
    StockReceived: async ({ tx, tables, event }) => {
      const d = event.data;
      await tx`insert into ${tx(tables.shop_stock)} (sku, on_hand) values (${d.sku}, ${d.quantity})
               on conflict (sku) do update set on_hand = ${tx(tables.shop_stock)}.on_hand + excluded.on_hand`;
    },
    StockReserved: async ({ tx, tables, event }) => {
      const d = event.data;
      await tx`insert into ${tx(tables.shop_stock)} (sku, reserved) values (${d.sku}, ${d.quantity})
               on conflict (sku) do update set reserved = ${tx(tables.shop_stock)}.reserved + excluded.reserved`;
    },
    ReservationReleased: async ({ tx, tables, event }) => {
      const d = event.data;
      await tx`update ${tx(tables.shop_stock)} set reserved = reserved - ${d.quantity} where sku = ${d.sku}`;
    },
  },
});
