import { DomainError, defineSaga, type SagaDefinition, type StepContext } from "eventline";
import { type OrderEvent, type OrderItem, type PaymentMethod, unitsBySku } from "./domain/orders.ts";
import type { ShopService } from "./shop-service.ts";

export type CheckoutData = {
  orderId: string;
  customerId: string;
  items: OrderItem[];
  total: number;
  /** The provider's reference for the card; the card token itself never reaches the saga. */
  payment: PaymentMethod;
  /** The ids that tie the saga's commands to the request that placed the order. */
  trace?: { correlationId: string; causationId: string };
};

/** The options every command of a step gets: its idempotency key, the order's ids and the step's trace. */
const commandOptions = (ctx: StepContext<CheckoutData>, suffix = "") => ({
  idempotencyKey: ctx.idempotencyKey + suffix,
  metadata: { ...ctx.data.trace, ...ctx.trace },
});

export const checkoutSagaId = (orderId: string) => `checkout-${orderId}`;

/**
 * OrderPlaced → charge → reserve stock → confirm → notify. A declined payment cancels the order; missing
 * stock refunds, then cancels (compensations run last-first). Every command carries the saga's
 * idempotency key, so a step retried after a crash cannot charge or reserve twice. Each OrderPlaced starts
 * one, in the same transaction as the starter's inbox row.
 */
export function checkoutSaga(shop: ShopService, options: { stepDeadlineMs?: number } = {}): SagaDefinition<CheckoutData> {
  const deadlineMs = options.stepDeadlineMs;
  return defineSaga<OrderEvent>()<CheckoutData>({
    type: "checkout",
    retry: { baseMs: 100, maxMs: 10_000 },
    start: {
      bindings: ["order.#"],
      on: {
        OrderPlaced: (event) => ({
          sagaId: checkoutSagaId(event.data.orderId),
          data: {
            orderId: event.data.orderId,
            customerId: event.data.customerId,
            items: event.data.items,
            total: event.data.total,
            payment: event.data.payment,
            trace: {
              correlationId: event.metadata.correlationId,
              causationId: event.eventId,
            },
          },
        }),
      },
    },
    steps: [
      {
        // The order was placed before the saga began; undoing it means cancelling it.
        name: "order",
        action: async () => {},
        compensate: async (ctx) => {
          await shop.cancelOrder(ctx.data.orderId, ctx.failure ?? "checkout failed", commandOptions(ctx));
        },
      },
      {
        name: "charge",
        deadlineMs,
        action: async (ctx) => {
          const { data } = ctx;
          const { status } = await shop.chargePayment(
            data.orderId,
            data.total,
            data.payment.reference,
            commandOptions(ctx),
            ctx.signal,
          );
          if (status === "DECLINED") throw new DomainError("PAYMENT_DECLINED", "the payment was declined");
        },
        compensate: async (ctx) => {
          try {
            await shop.refundPayment(ctx.data.orderId, commandOptions(ctx), ctx.actionKey);
          } catch (error) {
            // A declined (or never made) charge has nothing to refund: that compensation is already done.
            if (!(error instanceof DomainError && error.code === "NOTHING_TO_REFUND")) throw error;
          }
        },
      },
      {
        name: "reserve",
        deadlineMs,
        action: async (ctx) => {
          // One reservation per sku and order: a sku on two lines (added at two prices) is reserved once, in full.
          for (const item of unitsBySku(ctx.data.items)) {
            // Past the deadline no further item is reserved; the compensation releases what was.
            ctx.signal.throwIfAborted();
            await shop.reserveStock(item.sku, ctx.data.orderId, item.quantity, commandOptions(ctx, `:${item.sku}`));
          }
        },
        // Also runs when reserving failed half-way: releasing what was never reserved changes nothing.
        compensate: async ({ data, idempotencyKey }) => {
          for (const item of unitsBySku(data.items))
            await shop.releaseReservation(item.sku, data.orderId, { idempotencyKey: `${idempotencyKey}:${item.sku}` });
        },
      },
      {
        name: "confirm",
        action: async (ctx) => {
          await shop.confirmOrder(ctx.data.orderId, commandOptions(ctx));
        },
      },
      {
        name: "notify",
        action: async ({ data, log }) => {
          log("info", "customer notified of the confirmed order", { orderId: data.orderId, customerId: data.customerId });
        },
      },
    ],
  });
}
