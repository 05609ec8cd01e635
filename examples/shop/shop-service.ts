import { ConcurrencyError, DomainError, NotFoundError } from "eventline";
import type { EventStore } from "eventline";
import { type CommandResult, type HandleCommandOptions, handleCommand } from "eventline";
import { createKeyedMutex } from "eventline";
import { loadState } from "eventline";
import { type Product, catalog, productStream, skuStream } from "./domain/catalog.ts";
import { customerStream, customers } from "./domain/customers.ts";
import { inventory, inventoryStream } from "./domain/inventory.ts";
import { type Order, orderStream, orders } from "./domain/orders.ts";
import { type PaymentGateway, paymentStream, payments } from "./domain/payments.ts";

export type ShopService = ReturnType<typeof createShopService>;

/**
 * The shop's use cases: each loads what it needs, asks a decider, and appends. Side effects (the
 * payment gateway) happen outside the deciders; cross-stream rules (a sku names one product) are kept
 * by appending to several streams at once.
 */
export function createShopService(deps: { store: EventStore; gateway: PaymentGateway }) {
  const { store, gateway } = deps;
  const streams = createKeyedMutex();
  /** Every command of this service runs one at a time per stream in this process. */
  const locked = <S>(opts: HandleCommandOptions<S>): HandleCommandOptions<S> => ({ ...opts, serialize: streams });

  async function productBySku(sku: string): Promise<Extract<Product, { exists: true }>> {
    const [claim] = await store.readStream(skuStream(sku), { toVersion: 1 });
    if (!claim) throw new NotFoundError("sku", sku);
    const { state } = await loadState(store, catalog, productStream((claim.data as { productId: string }).productId));
    if (!state.exists) throw new NotFoundError("sku", sku);
    return state;
  }

  return {
    async addProduct(input: { productId: string; sku: string; name: string; price: number }, opts: HandleCommandOptions = {}) {
      const events = catalog.decide({ type: "AddProduct", data: input }, catalog.initialState());
      try {
        const [, product] = await store.append(
          [
            {
              streamId: skuStream(input.sku),
              expectedVersion: "no_stream",
              events: [{ type: "SkuClaimed", data: { sku: input.sku, productId: input.productId } }],
            },
            {
              streamId: productStream(input.productId),
              expectedVersion: "no_stream",
              events: events.map((e) => ({ ...e, metadata: opts.metadata })),
            },
          ],
          { idempotency: opts.idempotency },
        );
        return product as CommandResult;
      } catch (error) {
        if (error instanceof ConcurrencyError && error.streamId === skuStream(input.sku)) {
          throw new DomainError("SKU_TAKEN", `sku ${input.sku} belongs to another product`);
        }
        throw error;
      }
    },

    changePrice: (productId: string, price: number, opts: HandleCommandOptions = {}) =>
      handleCommand(store, catalog, productStream(productId), { type: "ChangePrice", data: { productId, price } }, locked(opts)),

    async receiveStock(sku: string, quantity: number, opts: HandleCommandOptions = {}) {
      await productBySku(sku);
      return handleCommand(
        store,
        inventory,
        inventoryStream(sku),
        { type: "ReceiveStock", data: { sku, quantity } },
        locked(opts),
      );
    },

    reserveStock: (sku: string, orderId: string, quantity: number, opts: HandleCommandOptions = {}) =>
      handleCommand(
        store,
        inventory,
        inventoryStream(sku),
        { type: "ReserveStock", data: { sku, orderId, quantity } },
        locked(opts),
      ),

    releaseReservation: (sku: string, orderId: string, opts: HandleCommandOptions = {}) =>
      handleCommand(store, inventory, inventoryStream(sku), { type: "ReleaseReservation", data: { sku, orderId } }, locked(opts)),

    registerCustomer: (input: { customerId: string; name: string; email: string }, opts: HandleCommandOptions = {}) =>
      handleCommand(store, customers, customerStream(input.customerId), { type: "RegisterCustomer", data: input }, locked(opts)),

    changeEmail: (customerId: string, email: string, opts: HandleCommandOptions = {}) =>
      handleCommand(
        store,
        customers,
        customerStream(customerId),
        { type: "ChangeEmail", data: { customerId, email } },
        locked(opts),
      ),

    // The event says it happened and the key's deletion, in the same transaction, makes it true for every
    // stored copy at once: the erasure is complete once answered.
    forgetCustomer: (customerId: string, opts: HandleCommandOptions = {}) =>
      handleCommand(
        store,
        customers,
        customerStream(customerId),
        { type: "ForgetCustomer", data: { customerId } },
        { ...opts, forgetSubjects: [customerId] },
      ),

    async createOrder(input: { orderId: string; customerId: string }, opts: HandleCommandOptions<Order> = {}) {
      const { state } = await loadState(store, customers, customerStream(input.customerId));
      if (state.status === "none") throw new NotFoundError("customer", input.customerId);
      return handleCommand(store, orders, orderStream(input.orderId), { type: "CreateOrder", data: input }, locked(opts));
    },

    async addItem(orderId: string, sku: string, quantity: number, opts: HandleCommandOptions<Order> = {}) {
      const product = await productBySku(sku);
      return handleCommand(
        store,
        orders,
        orderStream(orderId),
        { type: "AddItem", data: { orderId, sku, quantity, unitPrice: product.price } },
        locked(opts),
      );
    },

    removeItem: (orderId: string, sku: string, opts: HandleCommandOptions<Order> = {}) =>
      handleCommand(store, orders, orderStream(orderId), { type: "RemoveItem", data: { orderId, sku } }, locked(opts)),

    /** The card token stops here: the provider's reference and the last four digits are what the order records. */
    async placeOrder(orderId: string, paymentToken: string, opts: HandleCommandOptions<Order> = {}) {
      // Who may, and whether the order can be placed at all, before the card goes to the provider: a
      // stranger's request or a second place sends it nowhere. The command below checks both again.
      const { state } = await loadState(store, orders, orderStream(orderId));
      opts.guard?.(state);
      orders.decide({ type: "PlaceOrder", data: { orderId, payment: { reference: "", last4: "" } } }, state);
      const payment = await gateway.tokenise(paymentToken);
      return handleCommand(store, orders, orderStream(orderId), { type: "PlaceOrder", data: { orderId, payment } }, locked(opts));
    },

    cancelOrder: (orderId: string, reason: string, opts: HandleCommandOptions<Order> = {}) =>
      handleCommand(store, orders, orderStream(orderId), { type: "CancelOrder", data: { orderId, reason } }, locked(opts)),

    confirmOrder: (orderId: string, opts: HandleCommandOptions<Order> = {}) =>
      handleCommand(store, orders, orderStream(orderId), { type: "ConfirmOrder", data: { orderId } }, locked(opts)),

    shipOrder: (orderId: string, opts: HandleCommandOptions<Order> = {}) =>
      handleCommand(store, orders, orderStream(orderId), { type: "ShipOrder", data: { orderId } }, locked(opts)),

    /**
     * Charges once per order: a payment already recorded is returned as it is, the gateway not called
     * again, and the gateway gets the command's idempotency key, so a retry after a crash between its
     * answer and the append moves no money twice. An answer that comes after `signal` fired is still
     * recorded: the money moved, and the compensation must find the charge to refund it.
     */
    async chargePayment(
      orderId: string,
      amount: number,
      reference: string,
      opts: HandleCommandOptions = {},
      signal?: AbortSignal,
    ) {
      const { state, version } = await loadState(store, payments, paymentStream(orderId));
      if (state.status !== "NONE") {
        return {
          result: { streamId: paymentStream(orderId), version, position: 0, events: [] } as CommandResult,
          status: state.status,
        };
      }
      const answer = await gateway.charge({
        orderId,
        amount,
        reference,
        idempotencyKey: opts.idempotencyKey ?? `charge:${orderId}`,
        signal,
      });
      const result = await handleCommand(
        store,
        payments,
        paymentStream(orderId),
        { type: "RecordCharge", data: { orderId, amount, ...answer } },
        opts,
      );
      return { result, status: answer.approved ? ("CHARGED" as const) : ("DECLINED" as const) };
    },

    /** Refunds at most once: a refunded payment is left alone. */
    async refundPayment(orderId: string, opts: HandleCommandOptions = {}, chargeKey?: string) {
      let { state, version } = await loadState(store, payments, paymentStream(orderId));
      // No charge on record, but the charge's answer may never have arrived: ask the provider under the
      // charge's key, and record what it took before refunding it.
      if (state.status === "NONE" && chargeKey) {
        const known = await gateway.findCharge({ orderId, idempotencyKey: chargeKey });
        if (known?.approved) {
          await handleCommand(
            store,
            payments,
            paymentStream(orderId),
            { type: "RecordCharge", data: { orderId, amount: known.amount, approved: true } },
            locked({ ...opts, idempotencyKey: `${chargeKey}:found` }),
          );
          ({ state, version } = await loadState(store, payments, paymentStream(orderId)));
        }
      }
      if (state.status === "REFUNDED")
        return { streamId: paymentStream(orderId), version, position: 0, events: [] } as CommandResult;
      if (state.status !== "CHARGED") throw new DomainError("NOTHING_TO_REFUND", `payment for ${orderId} is ${state.status}`);
      await gateway.refund({ orderId, amount: state.amount, idempotencyKey: opts.idempotencyKey ?? `refund:${orderId}` });
      return handleCommand(store, payments, paymentStream(orderId), { type: "RecordRefund", data: { orderId } }, locked(opts));
    },
  };
}
