import type { ConsumerDefinition } from "../consumers/consumer-definition.ts";
import { DomainError } from "../core/errors.ts";
import type { SagaDefinition } from "../sagas/saga-definition.ts";
import { startSaga } from "../sagas/saga-store.ts";
import type { OrderItem } from "./domain/orders.ts";
import type { ShopService } from "./shop-service.ts";

export type CheckoutData = { orderId: string; customerId: string; items: OrderItem[]; total: number; paymentToken: string };

export const checkoutSagaId = (orderId: string) => `checkout-${orderId}`;

/**
 * OrderPlaced → charge → reserve stock → confirm → notify. A declined payment cancels the order; missing
 * stock refunds, then cancels (compensations run last-first). Every command carries the saga's
 * idempotency key, so a step retried after a crash cannot charge or reserve twice.
 */
export function checkoutSaga(shop: ShopService): SagaDefinition<CheckoutData> {
  return {
    type: "checkout",
    retry: { baseMs: 100, maxMs: 10_000 },
    steps: [
      {
        // The order was placed before the saga began; undoing it means cancelling it.
        name: "order",
        action: async () => {},
        compensate: async ({ data, failure, idempotencyKey }) => {
          await shop.cancelOrder(data.orderId, failure ?? "checkout failed", { idempotencyKey });
        },
      },
      {
        name: "charge",
        action: async ({ data, idempotencyKey }) => {
          const { status } = await shop.chargePayment(data.orderId, data.total, data.paymentToken, { idempotencyKey });
          if (status === "DECLINED") throw new DomainError("PAYMENT_DECLINED", "the payment was declined");
        },
        compensate: async ({ data, idempotencyKey }) => {
          try {
            await shop.refundPayment(data.orderId, { idempotencyKey });
          } catch (error) {
            // A declined (or never made) charge has nothing to refund: that compensation is already done.
            if (!(error instanceof DomainError && error.code === "NOTHING_TO_REFUND")) throw error;
          }
        },
      },
      {
        name: "reserve",
        action: async ({ data, idempotencyKey }) => {
          for (const item of data.items) {
            await shop.reserveStock(item.sku, data.orderId, item.quantity, { idempotencyKey: `${idempotencyKey}:${item.sku}` });
          }
        },
        // Also runs when reserving failed half-way: releasing what was never reserved changes nothing.
        compensate: async ({ data, idempotencyKey }) => {
          for (const item of data.items)
            await shop.releaseReservation(item.sku, data.orderId, { idempotencyKey: `${idempotencyKey}:${item.sku}` });
        },
      },
      {
        name: "confirm",
        action: async ({ data, idempotencyKey }) => {
          await shop.confirmOrder(data.orderId, { idempotencyKey });
        },
      },
      {
        name: "notify",
        action: async ({ data, log }) => {
          log("info", "customer notified of the confirmed order", { orderId: data.orderId, customerId: data.customerId });
        },
      },
    ],
  };
}

/** The consumer that starts a checkout per OrderPlaced, in the same transaction as its inbox row. */
export function checkoutStarter(notifyChannel: string): ConsumerDefinition {
  return {
    name: "checkout",
    bindings: ["order.#"],
    tables: {},
    handlers: {
      OrderPlaced: async ({ tx, event }) => {
        const d = event.data as CheckoutData;
        await startSaga(
          tx,
          {
            sagaId: checkoutSagaId(d.orderId),
            sagaType: "checkout",
            data: { orderId: d.orderId, customerId: d.customerId, items: d.items, total: d.total, paymentToken: d.paymentToken },
          },
          notifyChannel,
        );
      },
    },
  };
}
