import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { redactPaymentTokens } from "../../examples/shop/payment-provider/redact-payment-tokens.ts";
import { findSaga, startSaga } from "../../src/sagas/saga-store.ts";
import { createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
beforeAll(async () => {
  h = await createShopHarness();
});
afterAll(async () => h.close());

const TOKEN = "tok_4000002760003184";

/** Every row of the tables the rewrite touches, as text: what a dump of them would show. */
async function dumped(): Promise<string> {
  const events = await h.db.sql<{ t: string }[]>`select row_to_json(e)::text as t from eventline_events e`;
  const sagas = await h.db.sql<{ t: string }[]>`select row_to_json(s)::text as t from eventline_saga_instances s`;
  return [...events, ...sagas].map((r) => r.t).join("\n");
}

describe("redacting card tokens stored before tokenisation", () => {
  it("shows a version-1 OrderPlaced without its token even before the rows are rewritten", async () => {
    const orderId = crypto.randomUUID();
    await h.shop.store.appendToStream(`order-${orderId}`, [
      { type: "OrderPlaced", schemaVersion: 1, data: { orderId, customerId: "c", items: [], total: 0, paymentToken: TOKEN } },
    ]);
    const [event] = await h.shop.store.readStream(`order-${orderId}`);
    expect(event?.data).toEqual({
      orderId,
      customerId: "c",
      items: [],
      total: 0,
      payment: { reference: "pm_unknown", last4: "3184" },
    });
  });

  it("rewrites stored events and checkouts to a reference the provider charges, once", async () => {
    const orderId = crypto.randomUUID();
    await h.shop.store.appendToStream(`order-${orderId}`, [
      { type: "OrderPlaced", schemaVersion: 1, data: { orderId, customerId: "c", items: [], total: 500, paymentToken: TOKEN } },
    ]);
    await startSaga(
      h.db.sql,
      { sagaId: `checkout-${orderId}`, sagaType: "checkout", data: { orderId, paymentToken: TOKEN } },
      "x",
    );
    expect(await dumped()).toContain(TOKEN);

    const first = await redactPaymentTokens(h.shop.context, h.gateway);
    expect(first.events).toBeGreaterThanOrEqual(1);
    expect(first.sagas).toBe(1);
    expect(await dumped()).not.toContain(TOKEN);

    const [event] = await h.shop.store.readStream(`order-${orderId}`);
    expect(event?.schemaVersion).toBe(2);
    const { payment } = (event as { data: { payment: { reference: string; last4: string } } }).data;
    expect(payment.last4).toBe("3184");
    expect((await findSaga(h.db.sql, `checkout-${orderId}`))?.data).toEqual({ orderId, payment });
    // The reference is one the provider knows: a checkout still running charges it.
    expect(
      await h.gateway.charge({ orderId, amount: 500, reference: payment.reference, idempotencyKey: `k-${orderId}` }),
    ).toEqual({
      approved: true,
    });
    expect(await redactPaymentTokens(h.shop.context, h.gateway)).toEqual({ events: 0, sagas: 0 });
  });
});
