import { type AppContext, defineApp, type Logger, Upcasters } from "eventline";
import { databases, onShutdown } from "eventline/runtime";
import { checkoutSaga } from "./checkout-saga.ts";
import { customerPersonalData } from "./domain/customers.ts";
import { orderPlacedWithoutToken } from "./domain/orders.ts";
import { SHOP_ROLES } from "./http/shop-access.ts";
import { createFakeGateway, type PaymentGateway } from "./domain/payments.ts";
import { createShopRoutes } from "./http/create-shop-routes.ts";
import { createHttpGateway } from "./payment-provider/http-payment-gateway.ts";
import { createPaymentProvider, ensureProviderTables } from "./payment-provider/provider-app.ts";
import { redactPaymentTokens } from "./payment-provider/redact-payment-tokens.ts";
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

/** The shop as an eventline app; tests pass their own gateway or a short step deadline. */
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
    faults: [CRASH_AFTER_PROVIDER],
    services: (ctx) => createShopService({ store: ctx.store, gateway: options.gateway ?? gatewayFor(ctx) }),
    routes: (ctx) => [
      createShopRoutes({ shop: ctx.services, store: ctx.store, readSql: ctx.readSql, hasApplied: ctx.hasApplied }),
    ],
    sagas: (ctx) => [checkoutSaga(ctx.services, { stepDeadlineMs: options.stepDeadlineMs })],
    commands: {
      "payment-provider": {
        usage: "payment-provider",
        summary:
          "The stand-in payment provider (own tables, idempotency keys) on PAYMENT_PROVIDER_PORT; the saga calls PAYMENT_PROVIDER_URL.",
        async run({ config, appConfig, log, serve }) {
          const db = databases(config, "payment-provider", 4, "shop");
          await ensureProviderTables(db.sql);
          const server = serve(createPaymentProvider({ sql: db.sql }).fetch, config.host, appConfig.paymentProvider.port);
          log("info", "payment provider listening", { url: server.url });
          onShutdown(log, async () => {
            await server.stop();
            await db.end();
          });
        },
      },
      "redact-payment-tokens": {
        usage: "redact-payment-tokens",
        summary:
          "Exchange card tokens stored before tokenisation (OrderPlaced v1, checkout data) for the provider's references, in place.",
        async run({ wire, appConfig }) {
          const shop = wire();
          try {
            const url = appConfig.paymentProvider.url;
            const gateway = options.gateway ?? (url ? createHttpGateway(url) : createFakeGateway());
            const done = await redactPaymentTokens(shop.context, gateway);
            process.stdout.write(`rewrote ${done.events} OrderPlaced events and ${done.sagas} checkouts\n`);
          } finally {
            await shop.end();
          }
        },
      },
      "forget-subject": {
        usage: "forget-subject <customer-id>",
        summary: "Forget a customer's personal data: records PersonalDataForgotten and deletes the subject's key.",
        async run({ wire }, [customerId]) {
          if (!customerId) {
            process.stderr.write("usage: forget-subject <customer-id>\n");
            process.exitCode = 2;
            return;
          }
          const shop = wire();
          try {
            const result = await shop.services.forgetCustomer(customerId);
            process.stdout.write(`forgot ${customerId} (stream at version ${result.version})\n`);
          } finally {
            await shop.end();
          }
        },
      },
    },
  });
}

export const shopApp = defineShopApp();
