import { type AppContext, defineApp, type Logger, Upcasters } from "eventline";
import { checkoutSaga } from "./checkout-saga.ts";
import { catalog } from "./domain/catalog.ts";
import { customerPersonalData, customers } from "./domain/customers.ts";
import { inventory } from "./domain/inventory.ts";
import { orderPlacedWithoutToken, orders } from "./domain/orders.ts";
import { SHOP_ROLES } from "./http/shop-access.ts";
import { createFakeGateway, type PaymentGateway, payments } from "./domain/payments.ts";
import { createShopRoutes } from "./http/create-shop-routes.ts";
import { createHttpGateway } from "./payment-provider/http-payment-gateway.ts";
import { shopReadModels } from "./read-models/index.ts";
import { loadShopConfig, type ShopConfig } from "./shop-config.ts";
import { createShopService, type ShopService } from "./shop-service.ts";

/** The shop's own fault point: the saga process dies once the provider has answered a charge, before it is appended. */
const CRASH_AFTER_PROVIDER = "saga-crash-after-provider";

/**
 * The provider over HTTP when configured, else an in-memory stand-in. With CRASH_AFTER_PROVIDER, the
 * retried step must learn the charge from the provider under the same key, not charge again.
 */
function gatewayFor(ctx: AppContext<ShopConfig>): PaymentGateway {
  const url = ctx.config.paymentProvider.url;
  if (!url) return createFakeGateway();
  const gateway = createHttpGateway(url);
  if (ctx.fault !== CRASH_AFTER_PROVIDER) return gateway;
  return {
    ...gateway,
    async charge(input) {
      const answer = await gateway.charge(input);
      ctx.log("warn", "fault injected: crashing after the provider answered a charge, before appending it");
      process.kill(process.pid, "SIGKILL");
      return answer;
    },
  };
}

export type ShopAppOptions = { gateway?: PaymentGateway; stepDeadlineMs?: number; log?: Logger };

/**
 * The shop as an eventline app; tests pass their own gateway or a short step deadline. Its CLI commands
 * are added in shop-cli.ts, so the API in an isolate (worker.ts) bundles no process runner.
 */
export function defineShopApp(options: ShopAppOptions = {}) {
  return defineApp<ShopConfig, ShopService>({
    name: "shop",
    bin: "bun run eventline",
    openapi: { title: "eventline shop API", version: "0.1.0", description: "Commands append events; queries read models." },
    config: loadShopConfig,
    personalData: customerPersonalData,
    upcasters: new Upcasters([orderPlacedWithoutToken]),
    auth: { roles: SHOP_ROLES, subjectFlag: "customer" },
    readModels: shopReadModels,
    deciders: { product: catalog, customer: customers, inventory, order: orders, payment: payments },
    faults: [CRASH_AFTER_PROVIDER],
    services: (ctx) => createShopService({ store: ctx.store, gateway: options.gateway ?? gatewayFor(ctx) }),
    routes: (ctx) => [
      createShopRoutes({ shop: ctx.services, store: ctx.store, readSql: ctx.readSql, hasApplied: ctx.hasApplied }),
    ],
    sagas: (ctx) => [checkoutSaga(ctx.services, { stepDeadlineMs: options.stepDeadlineMs })],
  });
}

export const shopApp = defineShopApp();
