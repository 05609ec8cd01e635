import type { Context } from "hono";
import { NotFoundError } from "eventline";
import { hasRole, requireIdentity } from "eventline/hono";
import type { Order } from "../domain/orders.ts";

/**
 * The shop's staff roles. A customer is the token's subject and holds none of them: they reach only
 * their own profile and orders. `support` acts for any customer.
 */
export const ROLES = { catalog: "catalog", inventory: "inventory", support: "support", shipping: "shipping" } as const;
export const SHOP_ROLES = Object.values(ROLES);

/** The customer this caller may act for: their own id, or undefined for support staff, who may act for anyone. */
export function actingFor(c: Context): string | undefined {
  const identity = requireIdentity(c);
  return hasRole(identity, ROLES.support) ? undefined : identity.subject;
}

/** The customer id when the caller may see that customer; anyone else's is "not found", so existence is not revealed. */
export function customerOr404(c: Context, customerId: string): string {
  const owner = actingFor(c);
  if (owner !== undefined && owner !== customerId) throw new NotFoundError("customer", customerId);
  return customerId;
}

/** A guard for order commands: a customer may change only an order of theirs, and anyone else's does not exist for them. */
export function ownOrder(c: Context, orderId: string): ((state: Order) => void) | undefined {
  const owner = actingFor(c);
  if (owner === undefined) return undefined;
  return (state) => {
    if (state.status === "NONE" || state.customerId !== owner) throw new NotFoundError("order", orderId);
  };
}
