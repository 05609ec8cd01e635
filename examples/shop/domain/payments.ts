import type { Decider } from "eventline";
import { DomainError } from "eventline";

export type PaymentStatus = "NONE" | "CHARGED" | "DECLINED" | "REFUNDED";

export type PaymentCommand =
  | { type: "RecordCharge"; data: { orderId: string; amount: number; approved: boolean; reason?: string } }
  | { type: "RecordRefund"; data: { orderId: string } };

export type PaymentEvent =
  | { type: "PaymentCharged"; data: { orderId: string; amount: number } }
  | { type: "PaymentDeclined"; data: { orderId: string; amount: number; reason: string } }
  | { type: "PaymentRefunded"; data: { orderId: string; amount: number } };

export type Payment = { status: PaymentStatus; amount: number };

export const paymentStream = (orderId: string) => `payment-${orderId}`;

/**
 * Records what the gateway answered. The gateway call itself happens outside (it is a side effect); this
 * decider keeps the record honest: one charge per order, refunds only of a charge, and at most once.
 */
export const payments: Decider<PaymentCommand, PaymentEvent, Payment> = {
  initialState: () => ({ status: "NONE", amount: 0 }),
  decide(command, state) {
    const { orderId } = command.data;
    if (command.type === "RecordCharge") {
      if (state.status !== "NONE") return [];
      const { amount, approved, reason } = command.data;
      return approved
        ? [{ type: "PaymentCharged", data: { orderId, amount } }]
        : [{ type: "PaymentDeclined", data: { orderId, amount, reason: reason ?? "declined" } }];
    }
    if (state.status === "REFUNDED") return [];
    if (state.status !== "CHARGED") throw new DomainError("NOTHING_TO_REFUND", `payment for ${orderId} is ${state.status}`);
    return [{ type: "PaymentRefunded", data: { orderId, amount: state.amount } }];
  },
  evolve(state, event) {
    switch (event.type) {
      case "PaymentCharged":
        return { status: "CHARGED", amount: event.data.amount };
      case "PaymentDeclined":
        return { status: "DECLINED", amount: event.data.amount };
      case "PaymentRefunded":
        return { ...state, status: "REFUNDED" };
    }
  },
};

/**
 * The payment provider's side of a charge. Like a real provider, it takes an idempotency key: the same key
 * again returns the first answer and moves no money twice. `signal` aborts the wait, not the charge: once
 * the provider took the money, the answer still comes.
 */
export type PaymentGateway = {
  /**
   * Exchanges a card token for the provider's reference at the edge, so the token itself is never stored,
   * published or logged: only the reference and the last four characters go on.
   */
  tokenise(token: string): Promise<{ reference: string; last4: string }>;
  charge(input: {
    orderId: string;
    amount: number;
    /** The payment method's reference from `tokenise`. */
    reference: string;
    idempotencyKey: string;
    signal?: AbortSignal;
  }): Promise<{ approved: boolean; reason?: string }>;
  refund(input: { orderId: string; amount: number; idempotencyKey: string }): Promise<void>;
  /**
   * What the provider recorded under a charge's idempotency key, if anything: how a compensation learns
   * of a charge whose answer never arrived (the wait was aborted, or the process died).
   */
  findCharge(input: { orderId: string; idempotencyKey: string }): Promise<{ approved: boolean; amount: number } | undefined>;
};

/**
 * A stand-in gateway: declines every card whose token starts with `decline` (and any reference it did not
 * issue), approves the rest, one answer per idempotency key. It shares no state between processes, so its
 * reference carries the verdict: an API process tokenises and a saga process charges. `faults.refunds` makes refunds fail, for the tests of stuck compensations;
 * `faults.chargeDelayMs` makes a charge answer late, ignoring the abort (the money has moved), and with
 * `faults.abortAfterCharge` the wait for that answer is aborted instead (the money has moved all the same).
 */
const FAKE_APPROVE = "pm_fake_ok_";
const FAKE_DECLINE = "pm_fake_decline_";

export function createFakeGateway() {
  const answers = new Map<string, { approved: boolean; reason?: string; amount: number }>();
  const charges: string[] = [];
  const refunds: string[] = [];
  const faults = { refunds: false, chargeDelayMs: 0, abortAfterCharge: false };
  const gateway: PaymentGateway & { charges: string[]; refunds: string[]; faults: typeof faults } = {
    charges,
    refunds,
    faults,
    async tokenise(token) {
      const verdict = token.startsWith("decline") ? FAKE_DECLINE : FAKE_APPROVE;
      return { reference: `${verdict}${crypto.randomUUID()}`, last4: token.slice(-4) };
    },
    async charge({ orderId, amount, reference, idempotencyKey, signal }) {
      const earlier = answers.get(idempotencyKey);
      if (earlier) return { approved: earlier.approved, reason: earlier.reason };
      const declined = !reference.startsWith(FAKE_APPROVE);
      const reason = reference.startsWith(FAKE_DECLINE) ? "card declined" : "unknown payment method";
      answers.set(idempotencyKey, { approved: !declined, reason: declined ? reason : undefined, amount });
      if (!declined) charges.push(orderId);
      if (faults.chargeDelayMs > 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, faults.chargeDelayMs);
          if (faults.abortAfterCharge)
            signal?.addEventListener("abort", () => {
              clearTimeout(timer);
              reject(signal.reason);
            });
        });
      }
      return declined ? { approved: false, reason } : { approved: true };
    },
    async findCharge({ idempotencyKey }) {
      const known = answers.get(idempotencyKey);
      return known && { approved: known.approved, amount: known.amount };
    },
    async refund({ orderId }) {
      if (faults.refunds) throw new Error("gateway unavailable for refunds");
      if (!refunds.includes(orderId)) refunds.push(orderId);
    },
  };
  return gateway;
}
