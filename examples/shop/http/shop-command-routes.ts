import { Hono } from "hono";
import { NotFoundError } from "eventline";
import type { EventStore } from "eventline";
import { uuidV7 } from "eventline";
import { runCommand } from "eventline/hono";
import { jsonOf } from "eventline/hono";
import type { ShopService } from "../shop-service.ts";
import { commandDoc } from "./route-docs.ts";
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

/** The shop's command routes: validate, run the use case, answer with ids, version and position. */
export function createShopCommandRoutes(deps: { shop: ShopService; store: EventStore }): Hono {
  const { shop, store } = deps;
  const app = new Hono();
  const ok = (ids: Record<string, string> = {}) => ({ store, status: 200 as const, ids });
  const created = (ids: Record<string, string>) => ({ store, status: 201 as const, ids });

  app.post("/products", commandDoc("catalog", "Add a product", 201), jsonOf(AddProductBody), (c) => {
    const productId = uuidV7();
    return runCommand(c, created({ productId }), (o) => shop.addProduct({ productId, ...c.req.valid("json") }, o));
  });
  app.post("/products/:productId/price", commandDoc("catalog", "Change a product's price"), jsonOf(ChangePriceBody), (c) => {
    const productId = idOr404(c.req.param("productId"), "product");
    return runCommand(c, ok({ productId }), (o) => shop.changePrice(productId, c.req.valid("json").price, o));
  });
  app.post("/inventory/:sku/receipts", commandDoc("inventory", "Receive stock of a sku"), jsonOf(ReceiveStockBody), (c) => {
    const sku = idOr404(c.req.param("sku"), "sku", SKU);
    return runCommand(c, ok({ sku }), (o) => shop.receiveStock(sku, c.req.valid("json").quantity, o));
  });
  app.post("/customers", commandDoc("customers", "Register a customer", 201), jsonOf(RegisterCustomerBody), (c) => {
    const customerId = uuidV7();
    return runCommand(c, created({ customerId }), (o) => shop.registerCustomer({ customerId, ...c.req.valid("json") }, o));
  });
  app.post("/customers/:customerId/email", commandDoc("customers", "Change a customer's email"), jsonOf(ChangeEmailBody), (c) => {
    const customerId = idOr404(c.req.param("customerId"), "customer");
    return runCommand(c, ok({ customerId }), (o) => shop.changeEmail(customerId, c.req.valid("json").email, o));
  });
  app.delete("/customers/:customerId/personal-data", commandDoc("customers", "Forget a customer's personal data"), (c) => {
    const customerId = idOr404(c.req.param("customerId"), "customer");
    return runCommand(c, ok({ customerId }), (o) => shop.forgetCustomer(customerId, o));
  });
  app.post("/orders", commandDoc("orders", "Create a draft order", 201), jsonOf(CreateOrderBody), (c) => {
    const orderId = uuidV7();
    return runCommand(c, created({ orderId }), (o) =>
      shop.createOrder({ orderId, customerId: c.req.valid("json").customerId }, o),
    );
  });
  app.post("/orders/:orderId/items", commandDoc("orders", "Add an item at the catalog's price"), jsonOf(AddItemBody), (c) => {
    const orderId = idOr404(c.req.param("orderId"), "order");
    const { sku, quantity } = c.req.valid("json");
    return runCommand(c, ok({ orderId }), (o) => shop.addItem(orderId, sku, quantity, o));
  });
  app.delete("/orders/:orderId/items/:sku", commandDoc("orders", "Remove an item"), (c) => {
    const orderId = idOr404(c.req.param("orderId"), "order");
    const sku = idOr404(c.req.param("sku"), "item", SKU);
    return runCommand(c, ok({ orderId }), (o) => shop.removeItem(orderId, sku, o));
  });
  app.post("/orders/:orderId/place", commandDoc("orders", "Place an order"), jsonOf(PlaceOrderBody), (c) => {
    const orderId = idOr404(c.req.param("orderId"), "order");
    return runCommand(c, ok({ orderId }), (o) => shop.placeOrder(orderId, c.req.valid("json").paymentToken, o));
  });
  app.post("/orders/:orderId/cancel", commandDoc("orders", "Cancel an order"), jsonOf(CancelOrderBody), (c) => {
    const orderId = idOr404(c.req.param("orderId"), "order");
    const reason = c.req.valid("json")?.reason ?? "cancelled by request";
    return runCommand(c, ok({ orderId }), (o) => shop.cancelOrder(orderId, reason, o));
  });
  app.post("/orders/:orderId/ship", commandDoc("orders", "Ship a confirmed order"), (c) => {
    const orderId = idOr404(c.req.param("orderId"), "order");
    return runCommand(c, ok({ orderId }), (o) => shop.shipOrder(orderId, o));
  });
  return app;
}
