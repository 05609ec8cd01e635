import { Hono } from "hono";
import type { Sql } from "postgres";
import { NotFoundError, ValidationError } from "eventline";
import type { EventStore } from "eventline";
import { loadState } from "eventline";
import { type AppliedCheck, awaitFreshness, hasRole, identityRequired, requireIdentity, roleRequired } from "eventline/hono";
import { queryOf } from "eventline/hono";
import { orderStream, orders } from "../domain/orders.ts";
import { idOr404 } from "./shop-command-routes.ts";
import { ROLES, customerOr404 } from "./shop-access.ts";
import { queryDoc } from "./route-docs.ts";
import { AfterQuery, AsOfQuery, CustomerView, OrderView, ProductView, SalesReport } from "./schemas.ts";
import * as v from "valibot";

type OrderRow = {
  order_id: string;
  customer_id: string;
  status: string;
  items: unknown;
  total: number;
  payment_status: string;
  version: number;
};

const orderView = (r: OrderRow) => ({
  orderId: r.order_id,
  customerId: r.customer_id,
  status: r.status,
  items: r.items,
  total: r.total,
  paymentStatus: r.payment_status,
  version: r.version,
});

/**
 * The shop's queries: read models (with `?after=` read-your-writes), and audit and time travel from the
 * store. Products are public; a customer reads only their own profile and orders (anyone else's is 404);
 * reports, audit and time travel are support's, the shipping queue shipping's.
 */
export function createShopQueryRoutes(deps: { readSql: Sql; store: EventStore; hasApplied: AppliedCheck }): Hono {
  const { readSql: sql, store } = deps;
  const app = new Hono();
  const fresh = (consumers: string[]) => async (c: Parameters<typeof awaitFreshness>[0], next: () => Promise<void>) => {
    await awaitFreshness(c, { hasApplied: deps.hasApplied, consumers });
    await next();
  };

  app.get(
    "/orders/:orderId",
    queryDoc("orders", "An order as the read model has it", OrderView),
    identityRequired,
    queryOf(AfterQuery),
    fresh(["orders"]),
    async (c) => {
      const orderId = idOr404(c.req.param("orderId"), "order");
      const identity = requireIdentity(c);
      // Staff who serve orders see any; a customer's own id is part of the lookup, so another's is simply not found.
      const owner = hasRole(identity, ROLES.support) || hasRole(identity, ROLES.shipping) ? null : identity.subject;
      const [row] = await sql<OrderRow[]>`select * from shop_orders where order_id = ${orderId} and customer_id is not null
        and (${owner}::text is null or customer_id = ${owner})`;
      if (!row) throw new NotFoundError("order", orderId);
      return c.json(orderView(row));
    },
  );

  app.get(
    "/customers/:customerId",
    queryDoc("customers", "A customer", CustomerView),
    identityRequired,
    queryOf(AfterQuery),
    fresh(["customers"]),
    async (c) => {
      const customerId = customerOr404(c, idOr404(c.req.param("customerId"), "customer"));
      const [row] = await sql<{ name: string; email: string; forgotten: boolean; version: number }[]>`
      select name, email, forgotten, version from shop_customers where customer_id = ${customerId}`;
      if (!row) throw new NotFoundError("customer", customerId);
      return c.json({ customerId, ...row });
    },
  );

  app.get(
    "/customers/:customerId/orders",
    queryDoc("customers", "A customer's orders", v.object({ orders: v.array(OrderView) })),
    identityRequired,
    queryOf(AfterQuery),
    fresh(["customers", "orders"]),
    async (c) => {
      const customerId = customerOr404(c, idOr404(c.req.param("customerId"), "customer"));
      const [customer] = await sql`select 1 from shop_customers where customer_id = ${customerId}`;
      if (!customer) throw new NotFoundError("customer", customerId);
      const rows = await sql<OrderRow[]>`select * from shop_orders where customer_id = ${customerId} order by updated_at`;
      return c.json({ orders: rows.map(orderView) });
    },
  );

  app.get(
    "/products/:productId",
    queryDoc("catalog", "A product with its price and available stock", ProductView),
    queryOf(AfterQuery),
    fresh(["catalog"]),
    async (c) => {
      const productId = idOr404(c.req.param("productId"), "product");
      const [row] = await sql<{ sku: string; name: string; price: number; available: number; version: number }[]>`
      select p.sku, p.name, p.price, coalesce(s.on_hand - s.reserved, 0)::int8 as available, p.version
      from shop_products p left join shop_stock s on s.sku = p.sku where p.product_id = ${productId}`;
      if (!row) throw new NotFoundError("product", productId);
      return c.json({ productId, ...row });
    },
  );

  app.get(
    "/reports/sales",
    queryDoc("reports", "Revenue and units per sku over confirmed orders", SalesReport),
    roleRequired(ROLES.support),
    queryOf(AfterQuery),
    fresh(["sales"]),
    async (c) => {
      const skus = await sql<
        { sku: string; units: number; revenue: number }[]
      >`select sku, units, revenue from shop_sales order by sku`;
      return c.json({
        skus,
        totalUnits: skus.reduce((s, r) => s + r.units, 0),
        totalRevenue: skus.reduce((s, r) => s + r.revenue, 0),
      });
    },
  );

  app.get(
    "/warehouse/shipping-queue",
    queryDoc("warehouse", "Confirmed orders not yet shipped", v.object({ orders: v.array(OrderView) })),
    roleRequired(ROLES.shipping),
    queryOf(AfterQuery),
    fresh(["orders"]),
    async (c) => {
      const rows = await sql<OrderRow[]>`select * from shop_orders where status = 'CONFIRMED' order by updated_at`;
      return c.json({ orders: rows.map(orderView) });
    },
  );

  app.get(
    "/orders/:orderId/events",
    queryDoc("audit", "The order's recorded events, from the store", v.object({ events: v.array(v.unknown()) })),
    roleRequired(ROLES.support),
    async (c) => {
      const orderId = idOr404(c.req.param("orderId"), "order");
      const events = await store.readStream(orderStream(orderId));
      if (events.length === 0) throw new NotFoundError("order", orderId);
      return c.json({ events });
    },
  );

  app.get(
    "/orders/:orderId/state",
    queryDoc(
      "audit",
      "The order's state as of a version or a time (?version=N or ?at=ISO)",
      v.object({ version: v.number(), state: v.unknown() }),
    ),
    roleRequired(ROLES.support),
    queryOf(AsOfQuery),
    async (c) => {
      const orderId = idOr404(c.req.param("orderId"), "order");
      const { version, at } = c.req.valid("query");
      if (version !== undefined && at !== undefined) throw new ValidationError("give either version or at, not both");
      const loaded = await loadState(store, orders, orderStream(orderId), {
        version: version === undefined ? undefined : Number(version),
        at: at === undefined ? undefined : new Date(at),
      });
      if (loaded.version === 0) throw new NotFoundError("order", orderId);
      return c.json({ version: loaded.version, state: loaded.state });
    },
  );
  return app;
}
