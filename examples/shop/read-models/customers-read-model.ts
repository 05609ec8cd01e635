import { defineReadModel, REDACTED } from "eventline";
import type { CustomerEvent } from "../domain/customers.ts";

/** Customers as the CRM shows them. Forgetting a customer redacts the row, as it redacts the events. */
export const customersReadModel = defineReadModel<CustomerEvent>()({
  name: "customers",
  bindings: ["customer.#"],
  tables: {
    shop_customers: (t) =>
      `create table ${t} (customer_id uuid primary key, name text not null, email text not null, forgotten boolean not null default false, version bigint not null)`,
  },
  handlers: {
    CustomerRegistered: async ({ tx, tables, event }) => {
      const d = event.data;
      await tx`insert into ${tx(tables.shop_customers)} (customer_id, name, email, version) values (${d.customerId}, ${d.name}, ${d.email}, ${event.version})`;
    },
    EmailChanged: async ({ tx, tables, event }) => {
      const d = event.data;
      await tx`update ${tx(tables.shop_customers)} set email = ${d.email}, version = ${event.version} where customer_id = ${d.customerId}`;
    },
    PersonalDataForgotten: async ({ tx, tables, event }) => {
      await tx`update ${tx(tables.shop_customers)} set name = ${REDACTED}, email = ${REDACTED}, forgotten = true, version = ${event.version}
               where customer_id = ${event.data.customerId}`;
    },
  },
});
