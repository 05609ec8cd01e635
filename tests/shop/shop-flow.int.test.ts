import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { REDACTED } from "../../src/core/personal-data.ts";
import { createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
beforeAll(async () => {
  h = await createShopHarness({ pipeline: true });
});
afterAll(async () => h.close());

/** A query that waits for its read models to apply `position`, and must say it is fresh. */
async function freshly(path: string, position: unknown) {
  const res = await h.call("GET", `${path}?after=${position}`);
  expect(res.headers.get("eventline-freshness")).toBe("fresh");
  return res;
}

describe("the shop, end to end through the relay and the consumers", () => {
  it("charges and shows units added after a price change at the price they were added at", async () => {
    const sku = `MUG-${crypto.randomUUID().slice(0, 8)}`;
    const productId = (await h.call("POST", "/products", { sku, name: "Mug", price: 1000 })).body.productId as string;
    const customerId = (await h.call("POST", "/customers", { name: "Ada", email: "ada@example.com" })).body.customerId as string;
    const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
    expect((await h.call("POST", `/orders/${orderId}/items`, { sku, quantity: 1 })).status).toBe(200);
    expect((await h.call("POST", `/products/${productId}/price`, { price: 1200 })).status).toBe(200);
    const again = await h.call("POST", `/orders/${orderId}/items`, { sku, quantity: 2 });
    const items = [
      { sku, quantity: 1, unitPrice: 1000 },
      { sku, quantity: 2, unitPrice: 1200 },
    ];
    expect((await freshly(`/orders/${orderId}`, again.body.position)).body).toMatchObject({ items, total: 3400 });
    const placed = await h.call("POST", `/orders/${orderId}/place`, { paymentToken: "tok_visa" });
    expect(placed.status).toBe(200);
    const events = await h.shop.store.readStream(`order-${orderId}`);
    expect(events.find((e) => e.type === "OrderPlaced")?.data).toMatchObject({ items, total: 3400 });
  });

  it("shows a seller's new price in the catalog read model once the event went through the relay", async () => {
    const added = await h.call("POST", "/products", {
      sku: `TEA-${crypto.randomUUID().slice(0, 6)}`,
      name: "Green tea",
      price: 450,
    });
    expect(added.status).toBe(201);
    const productId = added.body.productId as string;
    const changed = await h.call("POST", `/products/${productId}/price`, { price: 520 });
    expect(changed.status).toBe(200);
    const product = await freshly(`/products/${productId}`, changed.body.position);
    expect(product.body).toMatchObject({ productId, name: "Green tea", price: 520, available: 0, version: 2 });
  });

  it("takes a customer's order from draft to shipped, with every read model agreeing", async () => {
    const sku = `MUG-${crypto.randomUUID().slice(0, 6)}`;
    const productId = (await h.call("POST", "/products", { sku, name: "Mug", price: 1200 })).body.productId as string;
    const stocked = await h.call("POST", `/inventory/${sku}/receipts`, { quantity: 10 });
    expect((await freshly(`/products/${productId}`, stocked.body.position)).body.available).toBe(10);

    const customer = await h.call("POST", "/customers", { name: "Grace Hopper", email: "grace@example.com" });
    const customerId = customer.body.customerId as string;
    expect((await freshly(`/customers/${customerId}`, customer.body.position)).body).toMatchObject({
      name: "Grace Hopper",
      email: "grace@example.com",
    });

    const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
    const item = await h.call("POST", `/orders/${orderId}/items`, { sku, quantity: 2 });
    expect(item.status).toBe(200);
    // Time travel answers at millisecond resolution: keep the item's and the placing's events out of the
    // millisecond this instant names.
    await new Promise((r) => setTimeout(r, 3));
    const beforePlacing = new Date();
    await new Promise((r) => setTimeout(r, 3));
    await Bun.sleep(20);
    const placed = await h.call("POST", `/orders/${orderId}/place`, { paymentToken: "tok_visa" });
    expect(placed.status).toBe(200);
    expect((await freshly(`/orders/${orderId}`, placed.body.position)).body).toEqual({
      orderId,
      customerId,
      status: "PLACED",
      items: [{ sku, quantity: 2, unitPrice: 1200 }],
      total: 2400,
      paymentStatus: "NONE",
      version: 3,
    });

    // The checkout saga's part, done by hand here: charge, reserve, confirm.
    const placedEvent = (await h.shop.store.readStream(`order-${orderId}`)).find((e) => e.type === "OrderPlaced");
    const { payment } = (placedEvent as { data: { payment: { reference: string } } }).data;
    await h.shop.service.chargePayment(orderId, 2400, payment.reference);
    await h.shop.service.reserveStock(sku, orderId, 2);
    const confirmed = await h.shop.service.confirmOrder(orderId);
    const queue = await freshly("/warehouse/shipping-queue", confirmed.position);
    expect((queue.body.orders as { orderId: string }[]).map((o) => o.orderId)).toContain(orderId);
    const sales = await freshly("/reports/sales", confirmed.position);
    expect((sales.body.skus as unknown[]).find((s) => (s as { sku: string }).sku === sku)).toEqual({
      sku,
      units: 2,
      revenue: 2400,
    });
    expect((await freshly(`/products/${productId}`, confirmed.position)).body.available).toBe(8);

    const shipped = await h.call("POST", `/orders/${orderId}/ship`);
    expect(shipped.status).toBe(200);
    expect((await freshly(`/orders/${orderId}`, shipped.body.position)).body).toMatchObject({
      status: "SHIPPED",
      paymentStatus: "CHARGED",
    });
    const history = await freshly(`/customers/${customerId}/orders`, shipped.body.position);
    expect((history.body.orders as { orderId: string }[]).map((o) => o.orderId)).toEqual([orderId]);

    // Audit and time travel come from the store, not from a read model.
    const events = await h.call("GET", `/orders/${orderId}/events`);
    expect((events.body.events as { type: string }[]).map((e) => e.type)).toEqual([
      "OrderCreated",
      "ItemAdded",
      "OrderPlaced",
      "OrderConfirmed",
      "OrderShipped",
    ]);
    const asOfVersion = await h.call("GET", `/orders/${orderId}/state?version=2`);
    expect(asOfVersion.body).toMatchObject({ version: 2, state: { status: "DRAFT", items: [{ sku, quantity: 2 }] } });
    const asOfTime = await h.call("GET", `/orders/${orderId}/state?at=${encodeURIComponent(beforePlacing.toISOString())}`);
    expect(asOfTime.body).toMatchObject({ version: 2, state: { status: "DRAFT" } });
  });

  it("forgets a customer's personal data in the store and in the read model", async () => {
    const customer = await h.call("POST", "/customers", { name: "Alan Turing", email: "alan@example.com" });
    const customerId = customer.body.customerId as string;
    const forgotten = await h.call("DELETE", `/customers/${customerId}/personal-data`);
    expect(forgotten.status).toBe(200);
    expect((await freshly(`/customers/${customerId}`, forgotten.body.position)).body).toMatchObject({
      name: REDACTED,
      email: REDACTED,
      forgotten: true,
    });
    const [registered] = await h.shop.store.readStream(`customer-${customerId}`);
    expect(registered?.data).toEqual({ customerId, name: REDACTED, email: REDACTED });
  });

  it("answers a query as stale when the position is not applied in time", async () => {
    const res = await h.call("GET", `/reports/sales?after=${Number.MAX_SAFE_INTEGER}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("eventline-freshness")).toBe("stale");
  });

  it("serves the same flow through a real HTTP server", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: h.app.fetch });
    try {
      const base = server.url.href.replace(/\/$/, "");
      const post = (path: string, body: unknown) =>
        fetch(`${base}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...h.staff },
          body: JSON.stringify(body),
        }).then(async (r) => ({ status: r.status, body: await r.json() }));
      const added = await post("/products", { sku: `PEN-${crypto.randomUUID().slice(0, 6)}`, name: "Pen", price: 199 });
      expect(added.status).toBe(201);
      const changed = await post(`/products/${added.body.productId}/price`, { price: 249 });
      const res = await fetch(`${base}/products/${added.body.productId}?after=${changed.body.position}`);
      expect(res.headers.get("eventline-freshness")).toBe("fresh");
      expect(await res.json()).toMatchObject({ price: 249 });
    } finally {
      server.stop(true);
    }
  });
});
