import { Hono } from "hono";
import { NotFoundError } from "eventline";
import type { EventStore } from "eventline";
import { uuidV7 } from "eventline";
import { identityRequired, requireIdentity, roleRequired, runCommand } from "eventline/hono";
import { jsonOf } from "eventline/hono";
import { ValidationError } from "eventline";
import type { ShopService } from "../shop-service.ts";
import { commandDoc } from "./route-docs.ts";
import { ROLES, actingFor, customerOr404, ownOrder } from "./shop-access.ts";
import {
  AddItemBody,
  AddProductBody,
  CancelOrderBody,
  ChangeEmailBody,
  ChangePriceBody,
  CreateOrderBody,
  PlaceOrderBody,
  ReceiveStockBody,
  RegisterCustomerBody,
} from "./schemas.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SKU = /^[A-Za-z0-9._-]{1,64}$/;

/** An id in a path that cannot exist is simply unknown: 404, and no query is run with it. */
export function idOr404(id: string, what: string, pattern = UUID): string {
  if (!pattern.test(id)) throw new NotFoundError(what, id.slice(0, 100));
  return id;
}

/**
 * The shop's command routes: check who calls, validate, run the use case, answer with ids, version and
 * position. Catalog and stock need a staff role (403 without it); a customer's own profile and orders
 * need that customer's token, and anyone else's answer 404 (docs/security.md).
 */
export function createShopCommandRoutes(deps: { shop: ShopService; store: EventStore }): Hono {
  const { shop, store } = deps;
  const app = new Hono();
  const ok = (ids: Record<string, string> = {}) => ({ store, status: 200 as const, ids });
  const created = (ids: Record<string, string>) => ({ store, status: 201 as const, ids });

  app.post("/products", commandDoc("catalog", "Add a product", 201), roleRequired(ROLES.catalog), jsonOf(AddProductBody), (c) => {
    const productId = uuidV7();
    return runCommand(c, created({ productId }), (o) => shop.addProduct({ productId, ...c.req.valid("json") }, o));
  });
  const catalogStaff = roleRequired(ROLES.catalog);
  app.post(
    "/products/:productId/price",
    commandDoc("catalog", "Change a product's price"),
    catalogStaff,
    jsonOf(ChangePriceBody),
    (c) => {
      const productId = idOr404(c.req.param("productId"), "product");
      return runCommand(c, ok({ productId }), (o) => shop.changePrice(productId, c.req.valid("json").price, o));
    },
  );
  const stockStaff = roleRequired(ROLES.inventory);
  app.post(
    "/inventory/:sku/receipts",
    commandDoc("inventory", "Receive stock of a sku"),
    stockStaff,
    jsonOf(ReceiveStockBody),
    (c) => {
      const sku = idOr404(c.req.param("sku"), "sku", SKU);
      return runCommand(c, ok({ sku }), (o) => shop.receiveStock(sku, c.req.valid("json").quantity, o));
    },
  );
  // Sign-up is the caller registering themself: the customer id is their token's subject. Support staff
  // register someone else, who gets a new id.
  app.post(
    "/customers",
    commandDoc("customers", "Register yourself as a customer", 201),
    identityRequired,
    jsonOf(RegisterCustomerBody),
    (c) => {
      const self = actingFor(c);
      if (self !== undefined && !UUID.test(self))
        throw new ValidationError("a customer's token subject must be a UUID, which becomes the customer id");
      const customerId = self ?? uuidV7();
      return runCommand(c, created({ customerId }), (o) => shop.registerCustomer({ customerId, ...c.req.valid("json") }, o));
    },
  );
  app.post(
    "/customers/:customerId/email",
    commandDoc("customers", "Change a customer's email"),
    identityRequired,
    jsonOf(ChangeEmailBody),
    (c) => {
      const customerId = customerOr404(c, idOr404(c.req.param("customerId"), "customer"));
      return runCommand(c, ok({ customerId }), (o) => shop.changeEmail(customerId, c.req.valid("json").email, o));
    },
  );
  app.delete(
    "/customers/:customerId/personal-data",
    commandDoc("customers", "Forget a customer's personal data"),
    identityRequired,
    (c) => {
      const customerId = customerOr404(c, idOr404(c.req.param("customerId"), "customer"));
      return runCommand(c, ok({ customerId }), (o) => shop.forgetCustomer(customerId, o));
    },
  );
  app.post(
    "/orders",
    commandDoc("orders", "Create a draft order (for yourself, unless support names a customer)", 201),
    identityRequired,
    jsonOf(CreateOrderBody),
    (c) => {
      const orderId = uuidV7();
      const named = c.req.valid("json")?.customerId;
      const customerId = named === undefined ? requireIdentity(c).subject : customerOr404(c, named);
      return runCommand(c, created({ orderId }), (o) => shop.createOrder({ orderId, customerId }, o));
    },
  );
  app.post(
    "/orders/:orderId/items",
    commandDoc("orders", "Add an item at the catalog's price"),
    identityRequired,
    jsonOf(AddItemBody),
    (c) => {
      const orderId = idOr404(c.req.param("orderId"), "order");
      const { sku, quantity } = c.req.valid("json");
      return runCommand(c, ok({ orderId }), (o) => shop.addItem(orderId, sku, quantity, { ...o, guard: ownOrder(c, orderId) }));
    },
  );
  app.delete("/orders/:orderId/items/:sku", commandDoc("orders", "Remove an item"), identityRequired, (c) => {
    const orderId = idOr404(c.req.param("orderId"), "order");
    const sku = idOr404(c.req.param("sku"), "item", SKU);
    return runCommand(c, ok({ orderId }), (o) => shop.removeItem(orderId, sku, { ...o, guard: ownOrder(c, orderId) }));
  });
  app.post("/orders/:orderId/place", commandDoc("orders", "Place an order"), identityRequired, jsonOf(PlaceOrderBody), (c) => {
    const orderId = idOr404(c.req.param("orderId"), "order");
    const { paymentToken } = c.req.valid("json");
    return runCommand(c, ok({ orderId }), (o) => shop.placeOrder(orderId, paymentToken, { ...o, guard: ownOrder(c, orderId) }));
  });
  app.post("/orders/:orderId/cancel", commandDoc("orders", "Cancel an order"), identityRequired, jsonOf(CancelOrderBody), (c) => {
    const orderId = idOr404(c.req.param("orderId"), "order");
    const reason = c.req.valid("json")?.reason ?? "cancelled by request";
    return runCommand(c, ok({ orderId }), (o) => shop.cancelOrder(orderId, reason, { ...o, guard: ownOrder(c, orderId) }));
  });
  app.post("/orders/:orderId/ship", commandDoc("orders", "Ship a confirmed order"), roleRequired(ROLES.shipping), (c) => {
    const orderId = idOr404(c.req.param("orderId"), "order");
    return runCommand(c, ok({ orderId }), (o) => shop.shipOrder(orderId, o));
  });
  return app;
}
