import { Hono } from "hono";
import type { Sql } from "postgres";
import type { EventStore } from "eventline";
import type { AppliedCheck } from "eventline/hono";
import type { ShopService } from "../shop-service.ts";
import { createShopCommandRoutes } from "./shop-command-routes.ts";
import { createShopQueryRoutes } from "./shop-query-routes.ts";

/** All of the shop's routes, ready to mount with `createApp({ routes: [...] })`. */
export function createShopRoutes(deps: { shop: ShopService; store: EventStore; readSql: Sql; hasApplied: AppliedCheck }): Hono {
  const app = new Hono();
  app.route("/", createShopCommandRoutes(deps));
  app.route("/", createShopQueryRoutes(deps));
  return app;
}
