import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { loadState } from "../../src/core/load-state.ts";
import { available, inventory, inventoryStream } from "../../src/shop/domain/inventory.ts";
import { orderStream, orders } from "../../src/shop/domain/orders.ts";
import { createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
beforeAll(async () => {
  h = await createShopHarness();
});
afterAll(async () => h.close());

describe("concurrent commands", () => {
  it("counts exactly one item per accepted answer when 100 add-item commands hit one order at once", async () => {
    const sku = `SKU-${crypto.randomUUID().slice(0, 8)}`;
    await h.call("POST", "/products", { sku, name: "Bolt", price: 10 });
    const customerId = (await h.call("POST", "/customers", { name: "C", email: "c@example.com" })).body.customerId as string;
    const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => h.call("POST", `/orders/${orderId}/items`, { sku, quantity: 1 })),
    );
    const accepted = answers.filter((a) => a.status >= 200 && a.status < 300).length;
    expect(answers.every((a) => a.status < 500)).toBe(true);
    const { state } = await loadState(h.shop.store, orders, orderStream(orderId));
    const quantity = state.status === "NONE" ? 0 : (state.items.find((i) => i.sku === sku)?.quantity ?? 0);
    expect(quantity).toBe(accepted);
    expect(accepted).toBeGreaterThan(0);
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

  it("keeps stock exact when two service instances (two processes' worth) reserve at once", async () => {
    const sku = `SKU-${crypto.randomUUID().slice(0, 8)}`;
    await h.call("POST", "/products", { sku, name: "Washer", price: 5 });
    await h.call("POST", `/inventory/${sku}/receipts`, { quantity: 10 });
    const { createShopService } = await import("../../src/shop/shop-service.ts");
    const other = createShopService({ store: h.shop.store, gateway: h.gateway });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? other : h.shop.service).reserveStock(sku, crypto.randomUUID(), 1)),
    );
    const ok = outcomes.filter((o) => o.status === "fulfilled").length;
    const { state } = await loadState(h.shop.store, inventory, inventoryStream(sku));
    // Conflicts between instances may exhaust retries, but never oversell or lose a reservation.
    expect(Object.keys(state.reservations)).toHaveLength(ok);
    expect(ok).toBeLessThanOrEqual(10);
    expect(available(state)).toBe(10 - ok);
  });
});
