import type { Decider } from "eventline";
import { DomainError, NotFoundError, type Upcaster } from "eventline";

export type OrderItem = { sku: string; quantity: number; unitPrice: number };
export type OrderStatus = "DRAFT" | "PLACED" | "CONFIRMED" | "CANCELLED" | "SHIPPED";
/** How an order is paid: the provider's reference for the card and its last four digits, never the card token. */
export type PaymentMethod = { reference: string; last4: string };

export type OrderCommand =
  | { type: "CreateOrder"; data: { orderId: string; customerId: string } }
  | { type: "AddItem"; data: { orderId: string; sku: string; quantity: number; unitPrice: number } }
  | { type: "RemoveItem"; data: { orderId: string; sku: string } }
  | { type: "PlaceOrder"; data: { orderId: string; payment: PaymentMethod } }
  | { type: "CancelOrder"; data: { orderId: string; reason: string } }
  | { type: "ConfirmOrder"; data: { orderId: string } }
  | { type: "ShipOrder"; data: { orderId: string } };

export type OrderEvent =
  | { type: "OrderCreated"; data: { orderId: string; customerId: string } }
  | { type: "ItemAdded"; data: { orderId: string; sku: string; quantity: number; unitPrice: number } }
  | { type: "ItemRemoved"; data: { orderId: string; sku: string } }
  | {
      type: "OrderPlaced";
      data: { orderId: string; customerId: string; items: OrderItem[]; total: number; payment: PaymentMethod };
    }
  | { type: "OrderCancelled"; data: { orderId: string; reason: string } }
  | { type: "OrderConfirmed"; data: { orderId: string; customerId: string; items: OrderItem[]; total: number } }
  | { type: "OrderShipped"; data: { orderId: string } };

export type Order = { status: "NONE" } | { status: OrderStatus; orderId: string; customerId: string; items: OrderItem[] };

export const orderStream = (orderId: string) => `order-${orderId}`;

export const orderTotal = (items: OrderItem[]) => items.reduce((sum, i) => sum + i.quantity * i.unitPrice, 0);

/** The units of each sku, whatever lines and prices they came in: what stock is reserved for. */
export function unitsBySku(items: OrderItem[]): { sku: string; quantity: number }[] {
  const units = new Map<string, number>();
  for (const i of items) units.set(i.sku, (units.get(i.sku) ?? 0) + i.quantity);
  return [...units].map(([sku, quantity]) => ({ sku, quantity }));
}

/**
 * The items after adding one: it joins a line of the same sku at the same unit price, else it is a line of
 * its own, so units added after a price change are charged at the price they were added at.
 */
export function withItem(items: OrderItem[], added: OrderItem): OrderItem[] {
  const same = (i: OrderItem) => i.sku === added.sku && i.unitPrice === added.unitPrice;
  return items.some(same)
    ? items.map((i) => (same(i) ? { ...i, quantity: i.quantity + added.quantity } : i))
    : [...items, { sku: added.sku, quantity: added.quantity, unitPrice: added.unitPrice }];
}

function mustBe(state: Order, allowed: OrderStatus[], code: string): asserts state is Exclude<Order, { status: "NONE" }> {
  if (state.status === "NONE") throw new DomainError("ORDER_NOT_FOUND", "order does not exist");
  if (!allowed.includes(state.status)) throw new DomainError(code, `order is ${state.status}`, { status: state.status });
}

export const orders: Decider<OrderCommand, OrderEvent, Order> = {
  initialState: () => ({ status: "NONE" }),
  decide(command, state) {
    const d = command.data;
    if (command.type === "CreateOrder") {
      if (state.status !== "NONE") throw new DomainError("ORDER_EXISTS", `order ${d.orderId} already exists`);
      return [{ type: "OrderCreated", data: command.data }];
    }
    if (state.status === "NONE") throw new NotFoundError("order", d.orderId);
    switch (command.type) {
      case "AddItem":
        mustBe(state, ["DRAFT"], "ORDER_NOT_DRAFT");
        return [{ type: "ItemAdded", data: command.data }];
      case "RemoveItem":
        mustBe(state, ["DRAFT"], "ORDER_NOT_DRAFT");
        if (!state.items.some((i) => i.sku === command.data.sku)) throw new NotFoundError("item", command.data.sku);
        return [{ type: "ItemRemoved", data: command.data }];
      case "PlaceOrder":
        mustBe(state, ["DRAFT"], "ORDER_NOT_DRAFT");
        if (state.items.length === 0) throw new DomainError("ORDER_EMPTY", "an empty order cannot be placed");
        return [
          {
            type: "OrderPlaced",
            data: {
              orderId: state.orderId,
              customerId: state.customerId,
              items: state.items,
              total: orderTotal(state.items),
              payment: command.data.payment,
            },
          },
        ];
      case "CancelOrder":
        if (state.status === "CANCELLED") return [];
        mustBe(state, ["DRAFT", "PLACED"], "ORDER_NOT_CANCELLABLE");
        return [{ type: "OrderCancelled", data: command.data }];
      case "ConfirmOrder":
        if (state.status === "CONFIRMED") return [];
        mustBe(state, ["PLACED"], "ORDER_NOT_PLACED");
        return [
          {
            type: "OrderConfirmed",
            data: { orderId: state.orderId, customerId: state.customerId, items: state.items, total: orderTotal(state.items) },
          },
        ];
      case "ShipOrder":
        if (state.status === "SHIPPED") return [];
        mustBe(state, ["CONFIRMED"], "ORDER_NOT_CONFIRMED");
        return [{ type: "OrderShipped", data: command.data }];
    }
  },
  evolve(state, event) {
    if (event.type === "OrderCreated")
      return { status: "DRAFT", orderId: event.data.orderId, customerId: event.data.customerId, items: [] };
    if (state.status === "NONE") return state;
    switch (event.type) {
      case "ItemAdded":
        return { ...state, items: withItem(state.items, event.data) };
      case "ItemRemoved":
        return { ...state, items: state.items.filter((i) => i.sku !== event.data.sku) };
      case "OrderPlaced":
        return { ...state, status: "PLACED" };
      case "OrderCancelled":
        return { ...state, status: "CANCELLED" };
      case "OrderConfirmed":
        return { ...state, status: "CONFIRMED" };
      case "OrderShipped":
        return { ...state, status: "SHIPPED" };
    }
  },
};

/**
 * OrderPlaced at schema version 1 held the card token itself. Read now, it shows only the last four digits
 * and a reference no provider knows, so a late charge is declined rather than made with a token in clear;
 * `redact-payment-tokens` rewrites the stored rows (docs/security.md).
 */
export const orderPlacedWithoutToken: Upcaster = {
  type: "OrderPlaced",
  fromVersion: 1,
  upcast: (data) => {
    const { paymentToken, ...rest } = data as { paymentToken?: unknown };
    return { ...rest, payment: { reference: UNKNOWN_PAYMENT_REFERENCE, last4: String(paymentToken ?? "").slice(-4) } };
  },
};

/** The reference of a payment method tokenised before tokenisation existed: no provider charges it. */
export const UNKNOWN_PAYMENT_REFERENCE = "pm_unknown";
