import { describe, it } from "bun:test";
import { deciderSpec } from "eventline/testing";
import { type InventoryEvent, inventory } from "./inventory.ts";

const received = (quantity: number): InventoryEvent => ({ type: "StockReceived", data: { sku: "MUG-1", quantity } });
const reserved = (orderId: string, quantity: number): InventoryEvent => ({
  type: "StockReserved",
  data: { sku: "MUG-1", orderId, quantity },
});

describe("inventory decider", () => {
  it("receives stock", () => {
    deciderSpec(inventory)
      .given([])
      .when({ type: "ReceiveStock", data: { sku: "MUG-1", quantity: 10 } })
      .thenEmits([{ type: "StockReceived", data: { sku: "MUG-1", quantity: 10 } }]);
  });

  it("reserves stock that is available", () => {
    deciderSpec(inventory)
      .given([received(10)])
      .when({ type: "ReserveStock", data: { sku: "MUG-1", orderId: "o1", quantity: 4 } })
      .thenEmits([{ type: "StockReserved", data: { sku: "MUG-1", orderId: "o1", quantity: 4 } }]);
  });

  it("reserves all the stock that is available", () => {
    deciderSpec(inventory)
      .given([received(6), received(4)])
      .when({ type: "ReserveStock", data: { sku: "MUG-1", orderId: "o1", quantity: 10 } })
      .thenEmits([{ type: "StockReserved", data: { sku: "MUG-1", orderId: "o1", quantity: 10 } }]);
  });

  it("refuses to reserve when no stock was received", () => {
    deciderSpec(inventory)
      .given([])
      .when({ type: "ReserveStock", data: { sku: "MUG-1", orderId: "o1", quantity: 1 } })
      .thenRejects("INSUFFICIENT_STOCK");
  });

  it("refuses to reserve more than is available", () => {
    deciderSpec(inventory)
      .given([received(10)])
      .when({ type: "ReserveStock", data: { sku: "MUG-1", orderId: "o1", quantity: 11 } })
      .thenRejects("INSUFFICIENT_STOCK");
  });

  it("counts the reservations of other orders as unavailable", () => {
    deciderSpec(inventory)
      .given([received(10), reserved("o1", 7)])
      .when({ type: "ReserveStock", data: { sku: "MUG-1", orderId: "o2", quantity: 4 } })
      .thenRejects("INSUFFICIENT_STOCK");
  });

  it("makes released stock available again", () => {
    deciderSpec(inventory)
      .given([
        received(10),
        reserved("o1", 7),
        { type: "ReservationReleased", data: { sku: "MUG-1", orderId: "o1", quantity: 7 } },
      ])
      .when({ type: "ReserveStock", data: { sku: "MUG-1", orderId: "o2", quantity: 10 } })
      .thenEmits([{ type: "StockReserved", data: { sku: "MUG-1", orderId: "o2", quantity: 10 } }]);
  });

  it("changes nothing when the order already holds a reservation, even with no stock left", () => {
    deciderSpec(inventory)
      .given([received(5), reserved("o1", 5)])
      .when({ type: "ReserveStock", data: { sku: "MUG-1", orderId: "o1", quantity: 5 } })
      .thenEmits([]);
  });

  it("releases a reservation, with the quantity that was reserved", () => {
    deciderSpec(inventory)
      .given([received(10), reserved("o1", 3)])
      .when({ type: "ReleaseReservation", data: { sku: "MUG-1", orderId: "o1" } })
      .thenEmits([{ type: "ReservationReleased", data: { sku: "MUG-1", orderId: "o1", quantity: 3 } }]);
  });

  it("changes nothing when releasing a reservation that was never made", () => {
    deciderSpec(inventory)
      .given([received(10), reserved("o1", 3)])
      .when({ type: "ReleaseReservation", data: { sku: "MUG-1", orderId: "o2" } })
      .thenEmits([]);
  });

  it("changes nothing when releasing a reservation that was already released", () => {
    deciderSpec(inventory)
      .given([
        received(10),
        reserved("o1", 3),
        { type: "ReservationReleased", data: { sku: "MUG-1", orderId: "o1", quantity: 3 } },
      ])
      .when({ type: "ReleaseReservation", data: { sku: "MUG-1", orderId: "o1" } })
      .thenEmits([]);
  });
});
