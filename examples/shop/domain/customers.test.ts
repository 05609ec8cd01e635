import { describe, it } from "bun:test";
import { deciderSpec } from "eventline/testing";
import { type CustomerEvent, customers } from "./customers.ts";

const registered: CustomerEvent = {
  type: "CustomerRegistered",
  data: { customerId: "c1", name: "Ada", email: "ada@example.com" },
};
const forgotten: CustomerEvent = { type: "PersonalDataForgotten", data: { customerId: "c1" } };

describe("customers decider", () => {
  it("registers a new customer", () => {
    deciderSpec(customers)
      .given([])
      .when({ type: "RegisterCustomer", data: { customerId: "c1", name: "Ada", email: "ada@example.com" } })
      .thenEmits([{ type: "CustomerRegistered", data: { customerId: "c1", name: "Ada", email: "ada@example.com" } }]);
  });

  it("refuses to register a customer that exists", () => {
    deciderSpec(customers)
      .given([registered])
      .when({ type: "RegisterCustomer", data: { customerId: "c1", name: "Ada", email: "ada@example.com" } })
      .thenRejects("CUSTOMER_EXISTS");
  });

  it("refuses to register again a customer that was forgotten", () => {
    deciderSpec(customers)
      .given([registered, forgotten])
      .when({ type: "RegisterCustomer", data: { customerId: "c1", name: "Ada", email: "ada@example.com" } })
      .thenRejects("CUSTOMER_EXISTS");
  });

  it("changes the email of an active customer", () => {
    deciderSpec(customers)
      .given([registered])
      .when({ type: "ChangeEmail", data: { customerId: "c1", email: "ada@lovelace.org" } })
      .thenEmits([{ type: "EmailChanged", data: { customerId: "c1", email: "ada@lovelace.org" } }]);
  });

  it("refuses to change the email of a customer that does not exist", () => {
    deciderSpec(customers)
      .given([])
      .when({ type: "ChangeEmail", data: { customerId: "c1", email: "ada@lovelace.org" } })
      .thenRejects("NOT_FOUND");
  });

  it("refuses to change the email of a forgotten customer", () => {
    deciderSpec(customers)
      .given([registered, forgotten])
      .when({ type: "ChangeEmail", data: { customerId: "c1", email: "ada@lovelace.org" } })
      .thenRejects("CUSTOMER_FORGOTTEN");
  });

  it("changes nothing when the email is already the one asked for", () => {
    deciderSpec(customers)
      .given([registered])
      .when({ type: "ChangeEmail", data: { customerId: "c1", email: "ada@example.com" } })
      .thenEmits([]);
  });

  it("compares the email with the latest change, not the one registered", () => {
    const changed: CustomerEvent = { type: "EmailChanged", data: { customerId: "c1", email: "ada@lovelace.org" } };
    deciderSpec(customers)
      .given([registered, changed])
      .when({ type: "ChangeEmail", data: { customerId: "c1", email: "ada@lovelace.org" } })
      .thenEmits([]);
    deciderSpec(customers)
      .given([registered, changed])
      .when({ type: "ChangeEmail", data: { customerId: "c1", email: "ada@example.com" } })
      .thenEmits([{ type: "EmailChanged", data: { customerId: "c1", email: "ada@example.com" } }]);
  });

  it("forgets the personal data of an active customer", () => {
    deciderSpec(customers)
      .given([registered])
      .when({ type: "ForgetCustomer", data: { customerId: "c1" } })
      .thenEmits([{ type: "PersonalDataForgotten", data: { customerId: "c1" } }]);
  });

  it("refuses to forget a customer that does not exist", () => {
    deciderSpec(customers)
      .given([])
      .when({ type: "ForgetCustomer", data: { customerId: "c1" } })
      .thenRejects("NOT_FOUND");
  });

  it("changes nothing when the customer is already forgotten", () => {
    deciderSpec(customers)
      .given([registered, forgotten])
      .when({ type: "ForgetCustomer", data: { customerId: "c1" } })
      .thenEmits([]);
  });
});
