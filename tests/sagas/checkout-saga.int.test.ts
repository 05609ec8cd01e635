import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { checkoutSagaId } from "../../examples/shop/checkout-saga.ts";
import { findSaga } from "../../src/sagas/saga-store.ts";
import { ADMIN_TOKEN, createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
beforeAll(async () => {
  h = await createShopHarness({ pipeline: true, saga: true });
});
afterAll(async () => h.close());

async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last value ${JSON.stringify(value)}`);
    await Bun.sleep(50);
  }
}

/** A product with `stock` units, a customer, and an order of `quantity` placed with `token`. */
async function placeOrder(options: { stock: number; quantity: number; token: string }) {
  const sku = `SKU-${crypto.randomUUID().slice(0, 8)}`;
  const productId = (await h.call("POST", "/products", { sku, name: "Thing", price: 1000 })).body.productId as string;
  if (options.stock > 0) await h.call("POST", `/inventory/${sku}/receipts`, { quantity: options.stock });
  const customerId = (await h.call("POST", "/customers", { name: "Buyer", email: "buyer@example.com" })).body
    .customerId as string;
  const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
  await h.call("POST", `/orders/${orderId}/items`, { sku, quantity: options.quantity });
  const placed = await h.call("POST", `/orders/${orderId}/place`, { paymentToken: options.token });
  expect(placed.status).toBe(200);
  return { sku, productId, orderId };
}

const order = (orderId: string) => h.call("GET", `/orders/${orderId}`).then((r) => r.body);
const saga = (orderId: string) => findSaga(h.db.sql, checkoutSagaId(orderId));

async function positionOf(streamId: string, type: string): Promise<number | undefined> {
  return (await h.shop.store.readStream(streamId)).find((e) => e.type === type)?.position;
}

describe("the checkout saga", () => {
  it("reserves every unit of a sku added at two prices, and charges each at its own", async () => {
    const sku = `SKU-${crypto.randomUUID().slice(0, 8)}`;
    const productId = (await h.call("POST", "/products", { sku, name: "Thing", price: 1000 })).body.productId as string;
    await h.call("POST", `/inventory/${sku}/receipts`, { quantity: 10 });
    const customerId = (await h.call("POST", "/customers", { name: "Buyer", email: "buyer@example.com" })).body
      .customerId as string;
    const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
    await h.call("POST", `/orders/${orderId}/items`, { sku, quantity: 1 });
    await h.call("POST", `/products/${productId}/price`, { price: 1200 });
    await h.call("POST", `/orders/${orderId}/items`, { sku, quantity: 3 });
    expect((await h.call("POST", `/orders/${orderId}/place`, { paymentToken: "tok_ok" })).status).toBe(200);
    await until(
      () => saga(orderId),
      (s) => s?.status === "completed",
    );
    const product = await until(
      () => h.call("GET", `/products/${productId}`).then((r) => r.body),
      (p) => p.available !== 10,
    );
    expect(product.available).toBe(6);
    expect(
      (
        await until(
          () => order(orderId),
          (o) => o.status === "CONFIRMED",
        )
      ).total,
    ).toBe(4600);
  });

  it("confirms a paid order with stock reserved", async () => {
    const { orderId, productId } = await placeOrder({ stock: 5, quantity: 2, token: "tok_ok" });
    const done = await until(
      () => saga(orderId),
      (s) => s?.status === "completed",
    );
    expect(done?.completedSteps).toEqual(["order", "charge", "reserve", "confirm", "notify"]);
    const view = await until(
      () => order(orderId),
      (o) => o.status === "CONFIRMED" && o.paymentStatus === "CHARGED",
    );
    expect(view).toMatchObject({ status: "CONFIRMED", paymentStatus: "CHARGED", total: 2000 });
    const product = await until(
      () => h.call("GET", `/products/${productId}`).then((r) => r.body),
      (p) => p.available === 3,
    );
    expect(product.available).toBe(3);
  });

  it("refunds and then cancels an order whose stock ran out", async () => {
    const { orderId, sku } = await placeOrder({ stock: 1, quantity: 3, token: "tok_ok" });
    const done = await until(
      () => saga(orderId),
      (s) => s?.status === "compensated",
    );
    expect(done?.failure).toStartWith(`reserve: only 1 of ${sku} available`);
    expect(
      await until(
        () => order(orderId),
        (o) => o.status === "CANCELLED" && o.paymentStatus === "REFUNDED",
      ),
    ).toMatchObject({
      status: "CANCELLED",
      paymentStatus: "REFUNDED",
    });
    const refunded = await positionOf(`payment-${orderId}`, "PaymentRefunded");
    const cancelled = await positionOf(`order-${orderId}`, "OrderCancelled");
    expect(refunded).toBeNumber();
    expect(refunded as number).toBeLessThan(cancelled as number);
    expect(await positionOf(`inventory-${sku}`, "StockReserved")).toBeUndefined();
  });

  it("releases the first item's reservation when stock runs out on the second, and refunds", async () => {
    const skus = [`SKU-${crypto.randomUUID().slice(0, 8)}`, `SKU-${crypto.randomUUID().slice(0, 8)}`];
    for (const sku of skus) await h.call("POST", "/products", { sku, name: "Part", price: 100 });
    await h.call("POST", `/inventory/${skus[0]}/receipts`, { quantity: 5 });
    await h.call("POST", `/inventory/${skus[1]}/receipts`, { quantity: 1 });
    const customerId = (await h.call("POST", "/customers", { name: "Two", email: "two@example.com" })).body.customerId as string;
    const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
    await h.call("POST", `/orders/${orderId}/items`, { sku: skus[0], quantity: 2 });
    await h.call("POST", `/orders/${orderId}/items`, { sku: skus[1], quantity: 3 });
    expect((await h.call("POST", `/orders/${orderId}/place`, { paymentToken: "tok_ok" })).status).toBe(200);
    await until(
      () => saga(orderId),
      (s) => s?.status === "compensated",
    );
    const first = (await h.shop.store.readStream(`inventory-${skus[0]}`)).map((e) => e.type);
    expect(first).toEqual(["StockReceived", "StockReserved", "ReservationReleased"]);
    expect((await h.shop.store.readStream(`inventory-${skus[1]}`)).map((e) => e.type)).toEqual(["StockReceived"]);
    expect((await h.shop.store.readStream(`payment-${orderId}`)).map((e) => e.type)).toEqual([
      "PaymentCharged",
      "PaymentRefunded",
    ]);
  });

  it("cancels an order whose payment is declined, reserving no stock", async () => {
    const { orderId, sku } = await placeOrder({ stock: 5, quantity: 1, token: "decline_insufficient_funds" });
    await until(
      () => saga(orderId),
      (s) => s?.status === "compensated",
    );
    expect(
      await until(
        () => order(orderId),
        (o) => o.status === "CANCELLED" && o.paymentStatus === "DECLINED",
      ),
    ).toMatchObject({
      status: "CANCELLED",
      paymentStatus: "DECLINED",
    });
    expect(await positionOf(`inventory-${sku}`, "StockReserved")).toBeUndefined();
    expect(h.gateway.charges).not.toContain(orderId);
  });

  it("parks a checkout whose compensation keeps failing, shows it to operators, and completes it on retry", async () => {
    h.gateway.faults.refunds = true;
    try {
      const { orderId } = await placeOrder({ stock: 0, quantity: 1, token: "tok_ok" });
      const stuck = await until(
        () => saga(orderId),
        (s) => s?.status === "needs_attention",
        30_000,
      );
      expect(stuck?.compensationQueue).toEqual(["charge", "order"]);
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const listed = await h.call("GET", "/admin/sagas?status=needs_attention", undefined, admin);
      expect((listed.body as unknown as { sagaId: string }[]).map((s) => s.sagaId)).toContain(checkoutSagaId(orderId));
      expect((await order(orderId)).paymentStatus).toBe("CHARGED");

      h.gateway.faults.refunds = false;
      expect((await h.call("POST", `/admin/sagas/${checkoutSagaId(orderId)}/retry`, undefined, admin)).status).toBe(202);
      await until(
        () => saga(orderId),
        (s) => s?.status === "compensated",
      );
      expect(
        await until(
          () => order(orderId),
          (o) => o.status === "CANCELLED" && o.paymentStatus === "REFUNDED",
        ),
      ).toMatchObject({
        status: "CANCELLED",
      });
    } finally {
      h.gateway.faults.refunds = false;
    }
  }, 60_000);
});
