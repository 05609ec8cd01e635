import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { findSaga } from "../../src/sagas/saga-store.ts";
import { checkoutSagaId } from "../../examples/shop/checkout-saga.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl } from "../support/amqp.ts";
import { createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
beforeAll(async () => {
  h = await createShopHarness({ pipeline: true });
});
afterAll(async () => {
  // The saga process declared the checkout queues; the harness only knows its own consumers.
  await deleteBrokerObjects(amqpUrl(), { consumers: ["checkout"], prefix: h.queuePrefix });
  await h.close();
});

function sagaProcess(fault?: string) {
  return Bun.spawn([process.execPath, "examples/shop/main.ts", "saga"], {
    env: {
      ...process.env,
      DATABASE_SCHEMA: h.db.schema,
      EVENTS_EXCHANGE: h.exchange,
      QUEUE_PREFIX: h.queuePrefix,
      NOTIFY_CHANNEL: h.notifyChannel,
      SAGA_METRICS_PORT: "0",
      SAGA_LEASE_MS: "2000",
      LOG_LEVEL: "error",
      ...(fault ? { EVENTLINE_FAULT: fault } : {}),
    },
    stdout: "ignore",
    stderr: "inherit",
  });
}

async function count(streamId: string, type: string) {
  return (await h.shop.store.readStream(streamId)).filter((e) => e.type === type).length;
}

describe("the saga process", () => {
  it("resumes after a SIGKILL in the middle of a step without doing any step twice", async () => {
    const sku = `SKU-${crypto.randomUUID().slice(0, 8)}`;
    await h.call("POST", "/products", { sku, name: "Lamp", price: 3000 });
    await h.call("POST", `/inventory/${sku}/receipts`, { quantity: 4 });
    const customerId = (await h.call("POST", "/customers", { name: "Buyer", email: "b@example.com" })).body.customerId as string;
    const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
    await h.call("POST", `/orders/${orderId}/items`, { sku, quantity: 2 });

    const crashing = sagaProcess("saga-crash-after:charge");
    await h.call("POST", `/orders/${orderId}/place`, { paymentToken: "tok_ok" });
    await crashing.exited;
    expect(crashing.signalCode).toBe("SIGKILL");
    // The charge happened, but the saga had not recorded it: it still stands at that step.
    expect(await count(`payment-${orderId}`, "PaymentCharged")).toBe(1);
    expect(await findSaga(h.db.sql, checkoutSagaId(orderId))).toMatchObject({ status: "running", currentStep: 1 });

    const healthy = sagaProcess();
    try {
      const deadline = Date.now() + 30_000;
      while ((await findSaga(h.db.sql, checkoutSagaId(orderId)))?.status !== "completed") {
        if (Date.now() > deadline) throw new Error("the saga did not complete after the restart");
        await Bun.sleep(100);
      }
      expect(await count(`payment-${orderId}`, "PaymentCharged")).toBe(1);
      expect(await count(`inventory-${sku}`, "StockReserved")).toBe(1);
      expect(await count(`order-${orderId}`, "OrderConfirmed")).toBe(1);
      expect((await findSaga(h.db.sql, checkoutSagaId(orderId)))?.completedSteps).toEqual([
        "order",
        "charge",
        "reserve",
        "confirm",
        "notify",
      ]);
    } finally {
      healthy.kill("SIGTERM");
      expect(await healthy.exited).toBe(0);
    }
  }, 60_000);
});
