import { describe, it } from "bun:test";
import { deciderSpec } from "eventline/testing";
import { type OrderEvent, orders } from "./orders.ts";

const created: OrderEvent = { type: "OrderCreated", data: { orderId: "o1", customerId: "c1" } };
const mugAdded: OrderEvent = { type: "ItemAdded", data: { orderId: "o1", sku: "MUG-1", quantity: 2, unitPrice: 1200 } };
const teaAdded: OrderEvent = { type: "ItemAdded", data: { orderId: "o1", sku: "TEA-1", quantity: 1, unitPrice: 500 } };
const placed: OrderEvent = {
  type: "OrderPlaced",
  data: {
    orderId: "o1",
    customerId: "c1",
    items: [{ sku: "MUG-1", quantity: 2, unitPrice: 1200 }],
    total: 2400,
    payment: { reference: "pm_1", last4: "ok-1" },
  },
};
const confirmed: OrderEvent = {
  type: "OrderConfirmed",
  data: { orderId: "o1", customerId: "c1", items: [{ sku: "MUG-1", quantity: 2, unitPrice: 1200 }], total: 2400 },
};
const cancelled: OrderEvent = { type: "OrderCancelled", data: { orderId: "o1", reason: "changed my mind" } };
const shipped: OrderEvent = { type: "OrderShipped", data: { orderId: "o1" } };

describe("orders decider", () => {
  describe("CreateOrder", () => {
    it("creates an order that does not exist yet", () => {
      deciderSpec(orders)
        .given([])
        .when({ type: "CreateOrder", data: { orderId: "o1", customerId: "c1" } })
        .thenEmits([{ type: "OrderCreated", data: { orderId: "o1", customerId: "c1" } }]);
    });

    it("refuses to create an order that exists", () => {
      deciderSpec(orders)
        .given([created])
        .when({ type: "CreateOrder", data: { orderId: "o1", customerId: "c2" } })
        .thenRejects("ORDER_EXISTS");
    });
  });

  describe("AddItem", () => {
    it("adds an item to a draft order", () => {
      deciderSpec(orders)
        .given([created])
        .when({ type: "AddItem", data: { orderId: "o1", sku: "MUG-1", quantity: 2, unitPrice: 1200 } })
        .thenEmits([{ type: "ItemAdded", data: { orderId: "o1", sku: "MUG-1", quantity: 2, unitPrice: 1200 } }]);
    });

    it("refuses to add an item to an order that does not exist", () => {
      deciderSpec(orders)
        .given([])
        .when({ type: "AddItem", data: { orderId: "o1", sku: "MUG-1", quantity: 2, unitPrice: 1200 } })
        .thenRejects("NOT_FOUND");
    });

    it("refuses to add an item to an order that was placed", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed])
        .when({ type: "AddItem", data: { orderId: "o1", sku: "TEA-1", quantity: 1, unitPrice: 500 } })
        .thenRejects("ORDER_NOT_DRAFT");
    });
  });

  describe("RemoveItem", () => {
    it("removes an item that is in the order", () => {
      deciderSpec(orders)
        .given([created, mugAdded])
        .when({ type: "RemoveItem", data: { orderId: "o1", sku: "MUG-1" } })
        .thenEmits([{ type: "ItemRemoved", data: { orderId: "o1", sku: "MUG-1" } }]);
    });

    it("refuses to remove an item from an order that does not exist", () => {
      deciderSpec(orders)
        .given([])
        .when({ type: "RemoveItem", data: { orderId: "o1", sku: "MUG-1" } })
        .thenRejects("NOT_FOUND");
    });

    it("refuses to remove an item that is not in the order", () => {
      deciderSpec(orders)
        .given([created, mugAdded])
        .when({ type: "RemoveItem", data: { orderId: "o1", sku: "TEA-1" } })
        .thenRejects("NOT_FOUND");
    });

    it("refuses to remove an item that was already removed", () => {
      deciderSpec(orders)
        .given([created, mugAdded, { type: "ItemRemoved", data: { orderId: "o1", sku: "MUG-1" } }])
        .when({ type: "RemoveItem", data: { orderId: "o1", sku: "MUG-1" } })
        .thenRejects("NOT_FOUND");
    });

    it("refuses to remove an item from an order that was placed", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed])
        .when({ type: "RemoveItem", data: { orderId: "o1", sku: "MUG-1" } })
        .thenRejects("ORDER_NOT_DRAFT");
    });
  });

  describe("PlaceOrder", () => {
    it("charges each unit at the price it was added at, when a sku is added again after a price change", () => {
      deciderSpec(orders)
        .given([created, { ...mugAdded, data: { ...mugAdded.data, quantity: 1, unitPrice: 1000 } }, mugAdded])
        .when({ type: "PlaceOrder", data: { orderId: "o1", payment: { reference: "pm_1", last4: "ok-1" } } })
        .thenEmits([
          {
            type: "OrderPlaced",
            data: {
              orderId: "o1",
              customerId: "c1",
              items: [
                { sku: "MUG-1", quantity: 1, unitPrice: 1000 },
                { sku: "MUG-1", quantity: 2, unitPrice: 1200 },
              ],
              total: 3400,
              payment: { reference: "pm_1", last4: "ok-1" },
            },
          },
        ]);
    });

    it("places a draft order with its items, their total and the payment token", () => {
      deciderSpec(orders)
        .given([created, mugAdded, teaAdded])
        .when({ type: "PlaceOrder", data: { orderId: "o1", payment: { reference: "pm_1", last4: "ok-1" } } })
        .thenEmits([
          {
            type: "OrderPlaced",
            data: {
              orderId: "o1",
              customerId: "c1",
              items: [
                { sku: "MUG-1", quantity: 2, unitPrice: 1200 },
                { sku: "TEA-1", quantity: 1, unitPrice: 500 },
              ],
              total: 2900,
              payment: { reference: "pm_1", last4: "ok-1" },
            },
          },
        ]);
    });

    it("merges items added twice for the same sku into one line", () => {
      deciderSpec(orders)
        .given([created, mugAdded, teaAdded, mugAdded])
        .when({ type: "PlaceOrder", data: { orderId: "o1", payment: { reference: "pm_1", last4: "ok-1" } } })
        .thenEmits([
          {
            type: "OrderPlaced",
            data: {
              orderId: "o1",
              customerId: "c1",
              items: [
                { sku: "MUG-1", quantity: 4, unitPrice: 1200 },
                { sku: "TEA-1", quantity: 1, unitPrice: 500 },
              ],
              total: 5300,
              payment: { reference: "pm_1", last4: "ok-1" },
            },
          },
        ]);
    });

    it("leaves removed items out of the placed order", () => {
      deciderSpec(orders)
        .given([created, mugAdded, teaAdded, { type: "ItemRemoved", data: { orderId: "o1", sku: "MUG-1" } }])
        .when({ type: "PlaceOrder", data: { orderId: "o1", payment: { reference: "pm_1", last4: "ok-1" } } })
        .thenEmits([
          {
            type: "OrderPlaced",
            data: {
              orderId: "o1",
              customerId: "c1",
              items: [{ sku: "TEA-1", quantity: 1, unitPrice: 500 }],
              total: 500,
              payment: { reference: "pm_1", last4: "ok-1" },
            },
          },
        ]);
    });

    it("refuses to place an order that does not exist", () => {
      deciderSpec(orders)
        .given([])
        .when({ type: "PlaceOrder", data: { orderId: "o1", payment: { reference: "pm_1", last4: "ok-1" } } })
        .thenRejects("NOT_FOUND");
    });

    it("refuses to place an order without items", () => {
      deciderSpec(orders)
        .given([created])
        .when({ type: "PlaceOrder", data: { orderId: "o1", payment: { reference: "pm_1", last4: "ok-1" } } })
        .thenRejects("ORDER_EMPTY");
    });

    it("refuses to place an order whose items were all removed", () => {
      deciderSpec(orders)
        .given([created, mugAdded, { type: "ItemRemoved", data: { orderId: "o1", sku: "MUG-1" } }])
        .when({ type: "PlaceOrder", data: { orderId: "o1", payment: { reference: "pm_1", last4: "ok-1" } } })
        .thenRejects("ORDER_EMPTY");
    });

    it("refuses to place an order that was already placed", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed])
        .when({ type: "PlaceOrder", data: { orderId: "o1", payment: { reference: "pm_1", last4: "ok-1" } } })
        .thenRejects("ORDER_NOT_DRAFT");
    });
  });

  describe("CancelOrder", () => {
    it("cancels a draft order", () => {
      deciderSpec(orders)
        .given([created])
        .when({ type: "CancelOrder", data: { orderId: "o1", reason: "changed my mind" } })
        .thenEmits([{ type: "OrderCancelled", data: { orderId: "o1", reason: "changed my mind" } }]);
    });

    it("cancels a placed order", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed])
        .when({ type: "CancelOrder", data: { orderId: "o1", reason: "payment declined" } })
        .thenEmits([{ type: "OrderCancelled", data: { orderId: "o1", reason: "payment declined" } }]);
    });

    it("changes nothing when the order is already cancelled", () => {
      deciderSpec(orders)
        .given([created, cancelled])
        .when({ type: "CancelOrder", data: { orderId: "o1", reason: "again" } })
        .thenEmits([]);
    });

    it("refuses to cancel an order that does not exist", () => {
      deciderSpec(orders)
        .given([])
        .when({ type: "CancelOrder", data: { orderId: "o1", reason: "changed my mind" } })
        .thenRejects("NOT_FOUND");
    });

    it("refuses to cancel a confirmed order", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed, confirmed])
        .when({ type: "CancelOrder", data: { orderId: "o1", reason: "changed my mind" } })
        .thenRejects("ORDER_NOT_CANCELLABLE");
    });

    it("refuses to cancel a shipped order", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed, confirmed, shipped])
        .when({ type: "CancelOrder", data: { orderId: "o1", reason: "changed my mind" } })
        .thenRejects("ORDER_NOT_CANCELLABLE");
    });
  });

  describe("ConfirmOrder", () => {
    it("confirms a placed order with its items and their total", () => {
      deciderSpec(orders)
        .given([created, mugAdded, teaAdded, placed])
        .when({ type: "ConfirmOrder", data: { orderId: "o1" } })
        .thenEmits([
          {
            type: "OrderConfirmed",
            data: {
              orderId: "o1",
              customerId: "c1",
              items: [
                { sku: "MUG-1", quantity: 2, unitPrice: 1200 },
                { sku: "TEA-1", quantity: 1, unitPrice: 500 },
              ],
              total: 2900,
            },
          },
        ]);
    });

    it("changes nothing when the order is already confirmed", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed, confirmed])
        .when({ type: "ConfirmOrder", data: { orderId: "o1" } })
        .thenEmits([]);
    });

    it("refuses to confirm an order that does not exist", () => {
      deciderSpec(orders)
        .given([])
        .when({ type: "ConfirmOrder", data: { orderId: "o1" } })
        .thenRejects("NOT_FOUND");
    });

    it("refuses to confirm a draft order", () => {
      deciderSpec(orders)
        .given([created, mugAdded])
        .when({ type: "ConfirmOrder", data: { orderId: "o1" } })
        .thenRejects("ORDER_NOT_PLACED");
    });

    it("refuses to confirm a cancelled order", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed, cancelled])
        .when({ type: "ConfirmOrder", data: { orderId: "o1" } })
        .thenRejects("ORDER_NOT_PLACED");
    });

    it("refuses to confirm an order that was shipped", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed, confirmed, shipped])
        .when({ type: "ConfirmOrder", data: { orderId: "o1" } })
        .thenRejects("ORDER_NOT_PLACED");
    });
  });

  describe("ShipOrder", () => {
    it("ships a confirmed order", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed, confirmed])
        .when({ type: "ShipOrder", data: { orderId: "o1" } })
        .thenEmits([{ type: "OrderShipped", data: { orderId: "o1" } }]);
    });

    it("changes nothing when the order is already shipped", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed, confirmed, shipped])
        .when({ type: "ShipOrder", data: { orderId: "o1" } })
        .thenEmits([]);
    });

    it("refuses to ship an order that does not exist", () => {
      deciderSpec(orders)
        .given([])
        .when({ type: "ShipOrder", data: { orderId: "o1" } })
        .thenRejects("NOT_FOUND");
    });

    it("refuses to ship an order that is placed but not confirmed", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed])
        .when({ type: "ShipOrder", data: { orderId: "o1" } })
        .thenRejects("ORDER_NOT_CONFIRMED");
    });

    it("refuses to ship a cancelled order", () => {
      deciderSpec(orders)
        .given([created, mugAdded, placed, cancelled])
        .when({ type: "ShipOrder", data: { orderId: "o1" } })
        .thenRejects("ORDER_NOT_CONFIRMED");
    });
  });
});
