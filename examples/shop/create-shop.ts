import type { Sql } from "postgres";
import { wireApp } from "eventline/runtime";
import type { PaymentGateway } from "./domain/payments.ts";
import { defineShopApp } from "./shop-app.ts";

export type ShopOptions = { sql: Sql; readSql?: Sql; notifyChannel?: string; gateway?: PaymentGateway; stepDeadlineMs?: number };

/** The shop wired on given connections, for tests and scripts: its store, service, routes and read models. */
export function createShop(options: ShopOptions) {
  const gateway = options.gateway;
  const wired = wireApp(defineShopApp({ gateway, stepDeadlineMs: options.stepDeadlineMs }), {
    sql: options.sql,
    readSql: options.readSql,
    notifyChannel: options.notifyChannel,
    role: "test",
    appConfig: { paymentProvider: { port: 0 } },
  });
  return { ...wired, service: wired.services };
}
