import { createPaymentProvider, ensureProviderTables } from "../shop/payment-provider/provider-app.ts";
import { databases, onShutdown, type ProcessContext } from "./process-kit.ts";

/** The stand-in payment provider as a service of its own: its own tables, its own port. */
export async function runPaymentProvider(ctx: ProcessContext): Promise<void> {
  const { config, log } = ctx;
  const db = databases(config, "payment-provider", 4);
  await ensureProviderTables(db.sql);
  const app = createPaymentProvider({ sql: db.sql });
  const server = ctx.serve(app.fetch, config.host, config.paymentProvider.port);
  log("info", "payment provider listening", { url: server.url });
  onShutdown(log, async () => {
    await server.stop();
    await db.end();
  });
}
