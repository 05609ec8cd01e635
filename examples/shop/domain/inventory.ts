import type { Decider } from "eventline";
import { DomainError } from "eventline";

export type InventoryCommand =
  | { type: "ReceiveStock"; data: { sku: string; quantity: number } }
  | { type: "ReserveStock"; data: { sku: string; orderId: string; quantity: number } }
  | { type: "ReleaseReservation"; data: { sku: string; orderId: string } };

export type InventoryEvent =
  | { type: "StockReceived"; data: { sku: string; quantity: number } }
  | { type: "StockReserved"; data: { sku: string; orderId: string; quantity: number } }
  | { type: "ReservationReleased"; data: { sku: string; orderId: string; quantity: number } };

export type Stock = { onHand: number; reservations: Record<string, number> };

export const inventoryStream = (sku: string) => `inventory-${sku}`;

export const available = (s: Stock) => s.onHand - Object.values(s.reservations).reduce((a, b) => a + b, 0);

export const inventory: Decider<InventoryCommand, InventoryEvent, Stock> = {
  initialState: () => ({ onHand: 0, reservations: {} }),
  decide(command, state) {
    switch (command.type) {
      case "ReceiveStock":
        return [{ type: "StockReceived", data: command.data }];
      case "ReserveStock": {
        // Reserving again for the same order changes nothing: a retried saga step reserves once.
        if (state.reservations[command.data.orderId] !== undefined) return [];
        if (command.data.quantity > available(state)) {
          throw new DomainError("INSUFFICIENT_STOCK", `only ${available(state)} of ${command.data.sku} available`, {
            available: available(state),
          });
        }
        return [{ type: "StockReserved", data: command.data }];
      }
      case "ReleaseReservation": {
        const quantity = state.reservations[command.data.orderId];
        return quantity === undefined ? [] : [{ type: "ReservationReleased", data: { ...command.data, quantity } }];
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case "StockReceived":
        return { ...state, onHand: state.onHand + event.data.quantity };
      case "StockReserved":
        return { ...state, reservations: { ...state.reservations, [event.data.orderId]: event.data.quantity } };
      case "ReservationReleased": {
        const { [event.data.orderId]: _released, ...rest } = state.reservations;
        return { ...state, reservations: rest };
      }
    }
  },
};
