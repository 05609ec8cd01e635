import { Registry } from "prom-client";
import { connectBroker } from "../broker/amqp-connection.ts";
import { consumerLag } from "../consumers/catch-up.ts";
import { liveTables } from "../consumers/consumer-definition.ts";
import { createConsumerMetrics } from "../consumers/consumer-metrics.ts";
import { createConsumer } from "../consumers/consumer-runtime.ts";
import { createShop } from "../shop/create-shop.ts";
import { horizonGauge } from "./horizon-gauge.ts";
import { databases, onShutdown, type ProcessContext, serveProbe } from "./process-kit.ts";

/** A consumer process: one read model by name, or `all` of them (handy locally; deploy one per process). */
export async function runConsumers(ctx: ProcessContext, which: string | undefined): Promise<void> {
  const { config, log } = ctx;
  const db = databases(config, `consumer-${which ?? "?"}`);
  const shop = createShop({ sql: db.sql, readSql: db.readSql, notifyChannel: config.notifyChannel });
  const names = shop.readModels.map((d) => d.name);
  if (!which || (which !== "all" && !names.includes(which))) {
    process.stderr.write(`usage: consumer <${[...names, "all"].join("|")}>\n`);
    await db.end();
    process.exit(2);
  }
  const defs = which === "all" ? shop.readModels : shop.readModels.filter((d) => d.name === which);
  const broker = connectBroker(config.amqpUrl, log, `eventline-consumer-${which}`);
  const registry = new Registry();
  const lagDeps = (def: (typeof defs)[number]) => ({
    sql: db.readSql,
    store: shop.store,
    def,
    tables: liveTables(def),
  });
  horizonGauge(registry, db.sql);
  const metrics = createConsumerMetrics(registry, () => Promise.all(defs.map((d) => consumerLag(lagDeps(d)))));
  const consumers = defs.map((def) =>
    createConsumer({
      def,
      sql: db.readSql,
      store: shop.store,
      broker,
      exchange: config.eventsExchange,
      log: log.child({ consumer: def.name }),
      prefetch: config.consumer.prefetch,
      maxAttempts: config.consumer.maxAttempts,
      queueType: config.consumer.queueType,
      inboxRetentionMs: config.consumer.inboxRetentionMs,
      queuePrefix: config.consumer.queuePrefix,
      prepare:
        config.fault === "consumer-hold-delivery"
          ? async (events) => {
              log("warn", "fault injected: holding a delivery for 2 s");
              await new Promise((r) => setTimeout(r, 2_000));
              return shop.prepare(events);
            }
          : shop.prepare,
      metrics,
    }),
  );
  const probe = serveProbe(ctx, config.consumer.metricsPort, registry);
  // Registered before starting, so a stop requested during start-up is still a graceful one.
  onShutdown(log, async () => {
    for (const c of consumers) await c.stop();
    await broker.close();
    await probe.stop();
    await db.end();
  });
  for (const c of consumers) await c.start();
}
