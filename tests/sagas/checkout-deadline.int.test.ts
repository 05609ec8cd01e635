import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { findSaga } from "../../src/sagas/saga-store.ts";
import { checkoutSagaId } from "../../examples/shop/checkout-saga.ts";
import { paymentStream } from "../../examples/shop/domain/payments.ts";
import { createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
beforeAll(async () => {
  h = await createShopHarness({ pipeline: true, saga: true, stepDeadlineMs: 200 });
});
afterAll(async () => h.close());

/** A product in stock, a customer and a one-item order placed with a card that is approved. */
async function placeOrder(): Promise<string> {
  const sku = `LATE-${crypto.randomUUID().slice(0, 8)}`;
  await h.call("POST", "/products", { sku, name: "Late", price: 700 });
  await h.call("POST", `/inventory/${sku}/receipts`, { quantity: 5 });
  const customerId = (await h.call("POST", "/customers", { name: "L", email: "l@example.com" })).body.customerId as string;
  const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
  await h.call("POST", `/orders/${orderId}/items`, { sku, quantity: 1 });
  expect((await h.call("POST", `/orders/${orderId}/place`, { paymentToken: "tok_ok" })).status).toBe(200);
  return orderId;
}

/** The checkout's saga once it completed or compensated (or as it is after 15 s). */
async function sagaEnded(orderId: string) {
  const deadline = Date.now() + 15_000;
  let saga = await findSaga(h.db.sql, checkoutSagaId(orderId));
  while (!["completed", "compensated"].includes(saga?.status ?? "") && Date.now() < deadline) {
    await Bun.sleep(50);
    saga = await findSaga(h.db.sql, checkoutSagaId(orderId));
  }
  return saga;
}

describe("a checkout whose payment provider answers after the step's deadline", () => {
  it("never leaves a cancelled order charged: the late charge is either known to the retried step or refunded", async () => {
    h.gateway.faults.chargeDelayMs = 500;
    try {
      const orderId = await placeOrder();
      const saga = await sagaEnded(orderId);
      // Time for a charge that would land after the compensation (as it did) to land.
      await Bun.sleep(700);
      const payment = (await h.shop.store.readStream(paymentStream(orderId))).map((e) => e.type);
      const order = (await h.shop.store.readStream(`order-${orderId}`)).map((e) => e.type);
      expect(h.gateway.charges.filter((o) => o === orderId)).toHaveLength(1);
      // Either the retried step learned the charge under its key and the checkout went on, or the
      // compensation ran after the charge landed and refunded it; never cancelled and still charged.
      if (saga?.status === "completed") {
        expect(payment).toEqual(["PaymentCharged"]);
        expect(order).toContain("OrderConfirmed");
        expect(h.gateway.refunds).not.toContain(orderId);
      } else {
        expect(saga?.status).toBe("compensated");
        expect(payment).toEqual(["PaymentCharged", "PaymentRefunded"]);
        expect(order).toContain("OrderCancelled");
        expect(h.gateway.refunds.filter((o) => o === orderId)).toHaveLength(1);
      }
    } finally {
      h.gateway.faults.chargeDelayMs = 0;
    }
  }, 30_000);

  it("refunds a charge whose answer it never got: the aborted wait settles the step, the provider is asked by the key", async () => {
    h.gateway.faults.chargeDelayMs = 500;
    h.gateway.faults.abortAfterCharge = true;
    try {
      const orderId = await placeOrder();
      const saga = await sagaEnded(orderId);
      expect(saga?.status).toBe("compensated");
      expect(h.gateway.charges.filter((o) => o === orderId)).toHaveLength(1);
      expect(h.gateway.refunds.filter((o) => o === orderId)).toHaveLength(1);
      const payment = (await h.shop.store.readStream(paymentStream(orderId))).map((e) => e.type);
      expect(payment).toEqual(["PaymentCharged", "PaymentRefunded"]);
    } finally {
      h.gateway.faults.chargeDelayMs = 0;
      h.gateway.faults.abortAfterCharge = false;
    }
  }, 30_000);
});
