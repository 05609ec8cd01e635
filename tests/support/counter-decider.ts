import type { Decider } from "../../src/core/decider.ts";
import { DomainError } from "../../src/core/errors.ts";

export type CounterCommand = { type: "Add"; data: { amount: number } };
export type CounterEvent = { type: "Added"; data: { amount: number } };
export type CounterState = { total: number };

/** The smallest useful decider: adds positive amounts, refuses the rest. */
export const counter: Decider<CounterCommand, CounterEvent, CounterState> = {
  initialState: () => ({ total: 0 }),
  decide: (command) => {
    if (command.data.amount <= 0) throw new DomainError("AMOUNT_NOT_POSITIVE", "amount must be positive");
    return [{ type: "Added", data: { amount: command.data.amount } }];
  },
  evolve: (state, event) => ({ total: state.total + event.data.amount }),
};
