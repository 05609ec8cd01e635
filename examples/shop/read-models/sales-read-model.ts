import { defineReadModel } from "eventline";
import type { OrderEvent } from "../domain/orders.ts";

/** Revenue and units per sku over confirmed orders. */
export const salesReadModel = defineReadModel<OrderEvent>()({
  name: "sales",
  // All order events, not only OrderConfirmed: per-stream versions then advance without gap reads.
  bindings: ["order.#"],
  tables: {
    shop_sales: (t) => `create table ${t} (sku text primary key, units bigint not null, revenue bigint not null)`,
  },
  handlers: {
    OrderConfirmed: async ({ tx, tables, event }) => {
      for (const item of event.data.items) {
        await tx`insert into ${tx(tables.shop_sales)} (sku, units, revenue) values (${item.sku}, ${item.quantity}, ${item.quantity * item.unitPrice})
                 on conflict (sku) do update set units = ${tx(tables.shop_sales)}.units + excluded.units,
                   revenue = ${tx(tables.shop_sales)}.revenue + excluded.revenue`;
      }
    },
  },
});
