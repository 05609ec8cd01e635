import type { Decider } from "eventline";
import { DomainError, NotFoundError } from "eventline";
import type { PersonalDataPolicy } from "eventline";

export type CustomerCommand =
  | { type: "RegisterCustomer"; data: { customerId: string; name: string; email: string } }
  | { type: "ChangeEmail"; data: { customerId: string; email: string } }
  | { type: "ForgetCustomer"; data: { customerId: string } };

export type CustomerEvent =
  | { type: "CustomerRegistered"; data: { customerId: string; name: string; email: string } }
  | { type: "EmailChanged"; data: { customerId: string; email: string } }
  | { type: "PersonalDataForgotten"; data: { customerId: string } };

export type Customer = { status: "none" } | { status: "active" | "forgotten"; customerId: string; email: string };

export const customerStream = (customerId: string) => `customer-${customerId}`;

/** Name and email are personal: sealed under the customer's key, and unreadable once it is forgotten. */
export const customerPersonalData: PersonalDataPolicy = {
  CustomerRegistered: { subject: (d) => String(d.customerId), fields: ["name", "email"] },
  EmailChanged: { subject: (d) => String(d.customerId), fields: ["email"] },
};

export const customers: Decider<CustomerCommand, CustomerEvent, Customer> = {
  initialState: () => ({ status: "none" }),
  decide(command, state) {
    if (command.type === "RegisterCustomer") {
      if (state.status !== "none") throw new DomainError("CUSTOMER_EXISTS", `customer ${command.data.customerId} already exists`);
      return [{ type: "CustomerRegistered", data: command.data }];
    }
    if (state.status === "none") throw new NotFoundError("customer", command.data.customerId);
    if (command.type === "ChangeEmail") {
      if (state.status === "forgotten") throw new DomainError("CUSTOMER_FORGOTTEN", "a forgotten customer cannot change email");
      return state.email === command.data.email ? [] : [{ type: "EmailChanged", data: command.data }];
    }
    return state.status === "forgotten" ? [] : [{ type: "PersonalDataForgotten", data: command.data }];
  },
  evolve(state, event) {
    switch (event.type) {
      case "CustomerRegistered":
        return { status: "active", customerId: event.data.customerId, email: event.data.email };
      case "EmailChanged":
        return state.status === "none" ? state : { ...state, email: event.data.email };
      case "PersonalDataForgotten":
        return state.status === "none" ? state : { ...state, status: "forgotten" };
    }
  },
};
