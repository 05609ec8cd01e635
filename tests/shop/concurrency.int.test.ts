import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { loadState } from "../../src/core/load-state.ts";
import { available, inventory, inventoryStream } from "../../examples/shop/domain/inventory.ts";
import { orderStream, orders } from "../../examples/shop/domain/orders.ts";
import { createShopService } from "../../examples/shop/shop-service.ts";
import { connect } from "../../src/store/connect.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
beforeAll(async () => {
  h = await createShopHarness();
});
afterAll(async () => h.close());

describe("concurrent commands", () => {
  it("accepts all 100 add-item commands that hit one order at once, and counts each once", async () => {
    const sku = `SKU-${crypto.randomUUID().slice(0, 8)}`;
    await h.call("POST", "/products", { sku, name: "Bolt", price: 10 });
    const customerId = (await h.call("POST", "/customers", { name: "C", email: "c@example.com" })).body.customerId as string;
    const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => h.call("POST", `/orders/${orderId}/items`, { sku, quantity: 1 })),
    );
    const accepted = answers.filter((a) => a.status >= 200 && a.status < 300).length;
    expect(accepted).toBe(100);
    const { state } = await loadState(h.shop.store, orders, orderStream(orderId));
    const quantity = state.status === "NONE" ? 0 : (state.items.find((i) => i.sku === sku)?.quantity ?? 0);
    expect(quantity).toBe(100);
  });

  it("lets exactly 10 of 100 concurrent reservations succeed against a stock of 10", async () => {
    const sku = `SKU-${crypto.randomUUID().slice(0, 8)}`;
    await h.call("POST", "/products", { sku, name: "Nut", price: 5 });
    await h.call("POST", `/inventory/${sku}/receipts`, { quantity: 10 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, () => h.shop.service.reserveStock(sku, crypto.randomUUID(), 1)),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(10);
    const refusals = outcomes.flatMap((o) => (o.status === "rejected" ? [(o.reason as { code?: string }).code] : []));
    expect(new Set(refusals)).toEqual(new Set(["INSUFFICIENT_STOCK"]));
    const { state } = await loadState(h.shop.store, inventory, inventoryStream(sku));
    expect(available(state)).toBe(0);
  });

  it("sells exactly the stock when two processes' worth of services, each with its own store and pool, reserve at once", async () => {
    const sku = `SKU-${crypto.randomUUID().slice(0, 8)}`;
    await h.call("POST", "/products", { sku, name: "Washer", price: 5 });
    await h.call("POST", `/inventory/${sku}/receipts`, { quantity: 10 });
    const pools = [0, 1].map(() => connect(h.db.url, { max: 10, schema: h.db.schema }));
    try {
      const services = pools.map((sql) =>
        createShopService({ store: createPostgresEventStore({ sql, notifyChannel: h.notifyChannel }), gateway: h.gateway }),
      );
      const outcomes = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) => (services[i % 2] as (typeof services)[0]).reserveStock(sku, crypto.randomUUID(), 1)),
      );
      const refusals = outcomes.flatMap((o) => (o.status === "rejected" ? [(o.reason as { code?: string }).code] : []));
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(10);
      expect(new Set(refusals)).toEqual(new Set(["INSUFFICIENT_STOCK"]));
      const { state } = await loadState(h.shop.store, inventory, inventoryStream(sku));
      expect(Object.keys(state.reservations)).toHaveLength(10);
      expect(available(state)).toBe(0);
    } finally {
      for (const sql of pools) await sql.end();
    }
  });

  it("accepts every one of 60 add-item commands sent at once from two stores on their own pools, and counts each once", async () => {
    const sku = `SKU-${crypto.randomUUID().slice(0, 8)}`;
    await h.call("POST", "/products", { sku, name: "Screw", price: 3 });
    const customerId = (await h.call("POST", "/customers", { name: "D", email: "d@example.com" })).body.customerId as string;
    const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
    const pools = [0, 1].map(() => connect(h.db.url, { max: 10, schema: h.db.schema }));
    try {
      const services = pools.map((sql) =>
        createShopService({ store: createPostgresEventStore({ sql, notifyChannel: h.notifyChannel }), gateway: h.gateway }),
      );
      const outcomes = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) => (services[i % 2] as (typeof services)[0]).addItem(orderId, sku, 1)),
      );
      expect(outcomes.filter((o) => o.status === "rejected").map((o) => String((o as PromiseRejectedResult).reason))).toEqual([]);
      const { state } = await loadState(h.shop.store, orders, orderStream(orderId));
      expect(state.status === "NONE" ? 0 : state.items.find((i) => i.sku === sku)?.quantity).toBe(60);
    } finally {
      for (const sql of pools) await sql.end();
    }
  });
});
