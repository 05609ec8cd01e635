import { describe, it } from "bun:test";
import { deciderSpec } from "eventline/testing";
import { type PaymentEvent, payments } from "./payments.ts";

const charged: PaymentEvent = { type: "PaymentCharged", data: { orderId: "o1", amount: 2400 } };
const declined: PaymentEvent = { type: "PaymentDeclined", data: { orderId: "o1", amount: 2400, reason: "card declined" } };
const refunded: PaymentEvent = { type: "PaymentRefunded", data: { orderId: "o1", amount: 2400 } };

describe("payments decider", () => {
  it("records an approved charge", () => {
    deciderSpec(payments)
      .given([])
      .when({ type: "RecordCharge", data: { orderId: "o1", amount: 2400, approved: true } })
      .thenEmits([{ type: "PaymentCharged", data: { orderId: "o1", amount: 2400 } }]);
  });

  it("records a declined charge with the gateway's reason", () => {
    deciderSpec(payments)
      .given([])
      .when({ type: "RecordCharge", data: { orderId: "o1", amount: 2400, approved: false, reason: "card declined" } })
      .thenEmits([{ type: "PaymentDeclined", data: { orderId: "o1", amount: 2400, reason: "card declined" } }]);
  });

  it("records a declined charge without a reason as simply declined", () => {
    deciderSpec(payments)
      .given([])
      .when({ type: "RecordCharge", data: { orderId: "o1", amount: 2400, approved: false } })
      .thenEmits([{ type: "PaymentDeclined", data: { orderId: "o1", amount: 2400, reason: "declined" } }]);
  });

  it("changes nothing when the order was already charged", () => {
    deciderSpec(payments)
      .given([charged])
      .when({ type: "RecordCharge", data: { orderId: "o1", amount: 2400, approved: true } })
      .thenEmits([]);
  });

  it("changes nothing when a charge for the order was already declined", () => {
    deciderSpec(payments)
      .given([declined])
      .when({ type: "RecordCharge", data: { orderId: "o1", amount: 2400, approved: true } })
      .thenEmits([]);
  });

  it("changes nothing when charging an order whose payment was refunded", () => {
    deciderSpec(payments)
      .given([charged, refunded])
      .when({ type: "RecordCharge", data: { orderId: "o1", amount: 2400, approved: true } })
      .thenEmits([]);
  });

  it("refunds the amount that was charged", () => {
    deciderSpec(payments)
      .given([{ type: "PaymentCharged", data: { orderId: "o1", amount: 3100 } }])
      .when({ type: "RecordRefund", data: { orderId: "o1" } })
      .thenEmits([{ type: "PaymentRefunded", data: { orderId: "o1", amount: 3100 } }]);
  });

  it("refuses to refund when nothing was charged", () => {
    deciderSpec(payments)
      .given([])
      .when({ type: "RecordRefund", data: { orderId: "o1" } })
      .thenRejects("NOTHING_TO_REFUND");
  });

  it("refuses to refund a declined charge", () => {
    deciderSpec(payments)
      .given([declined])
      .when({ type: "RecordRefund", data: { orderId: "o1" } })
      .thenRejects("NOTHING_TO_REFUND");
  });

  it("changes nothing when the payment was already refunded", () => {
    deciderSpec(payments)
      .given([charged, refunded])
      .when({ type: "RecordRefund", data: { orderId: "o1" } })
      .thenEmits([]);
  });
});
