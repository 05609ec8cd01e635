import { defineReadModel, type RecordedEvent } from "eventline";
import type { TransactionSql } from "postgres";
import { type OrderEvent, type OrderItem, orderTotal, withItem } from "../domain/orders.ts";
import type { PaymentEvent } from "../domain/payments.ts";

type Tables = { shop_orders: string };
type Context = { tx: TransactionSql; tables: Tables; event: RecordedEvent<OrderEvent | PaymentEvent> };

/**
 * One row per order with its items, status and payment status. Payment events may be handled before the
 * order's own events (they are different streams), so every handler upserts.
 */
export const ordersReadModel = defineReadModel<OrderEvent | PaymentEvent>()({
  name: "orders",
  bindings: ["order.#", "payment.#"],
  tables: {
    shop_orders: (t) => `create table ${t} (
      order_id uuid primary key, customer_id uuid, status text not null default 'DRAFT',
      items jsonb not null default '[]', total bigint not null default 0,
      payment_status text not null default 'NONE', version bigint not null default 0,
      updated_at timestamptz not null default now())`,
  },
  handlers: {
    OrderCreated: async ({ tx, tables, event }) => {
      const d = event.data;
      await tx`insert into ${tx(tables.shop_orders)} (order_id, customer_id, version) values (${d.orderId}, ${d.customerId}, ${event.version})
               on conflict (order_id) do update set customer_id = excluded.customer_id, version = excluded.version`;
    },
    ItemAdded: async ({ tx, tables, event }) => {
      const items = await itemsOf(tx, tables, event.data.orderId);
      await setItems({ tx, tables, event }, withItem(items, event.data));
    },
    ItemRemoved: async ({ tx, tables, event }) => {
      const items = await itemsOf(tx, tables, event.data.orderId);
      await setItems(
        { tx, tables, event },
        items.filter((i) => i.sku !== event.data.sku),
      );
    },
    OrderPlaced: (ctx) => setStatus(ctx, "PLACED"),
    OrderCancelled: (ctx) => setStatus(ctx, "CANCELLED"),
    OrderConfirmed: (ctx) => setStatus(ctx, "CONFIRMED"),
    OrderShipped: (ctx) => setStatus(ctx, "SHIPPED"),
    PaymentCharged: (ctx) => setPayment(ctx, "CHARGED"),
    PaymentDeclined: (ctx) => setPayment(ctx, "DECLINED"),
    PaymentRefunded: (ctx) => setPayment(ctx, "REFUNDED"),
  },
});

async function itemsOf(tx: TransactionSql, tables: Tables, orderId: string): Promise<OrderItem[]> {
  const [row] = await tx<{ items: OrderItem[] }[]>`select items from ${tx(tables.shop_orders)} where order_id = ${orderId}`;
  return row?.items ?? [];
}

async function setItems({ tx, tables, event }: Context, items: OrderItem[]) {
  await tx`update ${tx(tables.shop_orders)} set items = ${tx.json(items)}, total = ${orderTotal(items)}, version = ${event.version}, updated_at = now()
           where order_id = ${event.data.orderId}`;
}

async function setStatus({ tx, tables, event }: Context, status: string) {
  await tx`update ${tx(tables.shop_orders)} set status = ${status}, version = ${event.version}, updated_at = now() where order_id = ${event.data.orderId}`;
}

async function setPayment({ tx, tables, event }: Context, status: string) {
  await tx`insert into ${tx(tables.shop_orders)} (order_id, payment_status) values (${event.data.orderId}, ${status})
           on conflict (order_id) do update set payment_status = excluded.payment_status, updated_at = now()`;
}
