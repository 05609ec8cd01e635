import type { ConsumerDefinition } from "../../consumers/consumer-definition.ts";
import { type OrderItem, orderTotal } from "../domain/orders.ts";

type Data = {
  orderId: string;
  customerId: string;
  sku: string;
  quantity: number;
  unitPrice: number;
  items: OrderItem[];
  total: number;
};

/**
 * One row per order with its items, status and payment status. Payment events may be handled before the
 * order's own events (they are different streams), so every handler upserts.
 */
export const ordersReadModel: ConsumerDefinition = {
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
      const d = event.data as Data;
      await tx`insert into ${tx(tables.shop_orders!)} (order_id, customer_id, version) values (${d.orderId}, ${d.customerId}, ${event.version})
               on conflict (order_id) do update set customer_id = excluded.customer_id, version = excluded.version`;
    },
    ItemAdded: async ({ tx, tables, event }) => {
      const d = event.data as Data;
      const [row] = await tx<
        { items: OrderItem[] }[]
      >`select items from ${tx(tables.shop_orders!)} where order_id = ${d.orderId}`;
      const items = row?.items ?? [];
      const existing = items.find((i) => i.sku === d.sku);
      const next = existing
        ? items.map((i) => (i.sku === d.sku ? { ...i, quantity: i.quantity + d.quantity } : i))
        : [...items, { sku: d.sku, quantity: d.quantity, unitPrice: d.unitPrice }];
      await tx`update ${tx(tables.shop_orders!)} set items = ${tx.json(next)}, total = ${orderTotal(next)}, version = ${event.version}, updated_at = now()
               where order_id = ${d.orderId}`;
    },
    ItemRemoved: async ({ tx, tables, event }) => {
      const d = event.data as Data;
      const [row] = await tx<
        { items: OrderItem[] }[]
      >`select items from ${tx(tables.shop_orders!)} where order_id = ${d.orderId}`;
      const next = (row?.items ?? []).filter((i) => i.sku !== d.sku);
      await tx`update ${tx(tables.shop_orders!)} set items = ${tx.json(next)}, total = ${orderTotal(next)}, version = ${event.version}, updated_at = now()
               where order_id = ${d.orderId}`;
    },
    OrderPlaced: (ctx) => setStatus(ctx, "PLACED"),
    OrderCancelled: (ctx) => setStatus(ctx, "CANCELLED"),
    OrderConfirmed: (ctx) => setStatus(ctx, "CONFIRMED"),
    OrderShipped: (ctx) => setStatus(ctx, "SHIPPED"),
    PaymentCharged: (ctx) => setPayment(ctx, "CHARGED"),
    PaymentDeclined: (ctx) => setPayment(ctx, "DECLINED"),
    PaymentRefunded: (ctx) => setPayment(ctx, "REFUNDED"),
  },
};

async function setStatus({ tx, tables, event }: Parameters<ConsumerDefinition["handlers"][string]>[0], status: string) {
  const d = event.data as Data;
  await tx`update ${tx(tables.shop_orders!)} set status = ${status}, version = ${event.version}, updated_at = now() where order_id = ${d.orderId}`;
}

async function setPayment({ tx, tables, event }: Parameters<ConsumerDefinition["handlers"][string]>[0], status: string) {
  const d = event.data as Data;
  await tx`insert into ${tx(tables.shop_orders!)} (order_id, payment_status) values (${d.orderId}, ${status})
           on conflict (order_id) do update set payment_status = excluded.payment_status, updated_at = now()`;
}
