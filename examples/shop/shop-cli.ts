import type { AppCommand, AppDefinition } from "eventline";
import { databases, onShutdown } from "eventline/runtime";
import { createFakeGateway } from "./domain/payments.ts";
import { createHttpGateway } from "./payment-provider/http-payment-gateway.ts";
import { createPaymentProvider, ensureProviderTables } from "./payment-provider/provider-app.ts";
import { redactPaymentTokens } from "./payment-provider/redact-payment-tokens.ts";
import { defineShopApp, type ShopAppOptions } from "./shop-app.ts";
import type { ShopConfig } from "./shop-config.ts";
import type { ShopService } from "./shop-service.ts";

/** The shop's own CLI commands, beside eventline's: the stand-in provider, forgetting, redacting card tokens. */
export function shopCommands(options: ShopAppOptions = {}): Record<string, AppCommand<ShopConfig, ShopService>> {
  return {
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
  };
}

/** The shop with its commands: what `bun run eventline` runs. */
export function defineShopCli(options: ShopAppOptions = {}): AppDefinition<ShopConfig, ShopService> {
  return { ...defineShopApp(options), commands: shopCommands(options) };
}
