import { Gauge, Registry } from "prom-client";
import { connectBroker } from "../broker/amqp-connection.ts";
import { createConsumer } from "../consumers/consumer-runtime.ts";
import { createSagaWorker } from "../sagas/saga-worker.ts";
import { checkoutSaga, checkoutStarter } from "../shop/checkout-saga.ts";
import { createShop } from "../shop/create-shop.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { PaymentGateway } from "../shop/domain/payments.ts";
import { createHttpGateway } from "../shop/payment-provider/http-payment-gateway.ts";
import { databases, onShutdown, type ProcessContext, serveProbe } from "./process-kit.ts";

/**
 * The provider over HTTP when configured. With the fault `saga-crash-after-provider`, the process dies
 * the moment the provider has answered a charge and before the answer is appended: the retried step must
 * learn the charge from the provider under the same key, not charge again.
 */
function providerGateway(config: Config, log: Logger): PaymentGateway | undefined {
  if (!config.paymentProvider.url) return undefined;
  const gateway = createHttpGateway(config.paymentProvider.url);
  if (config.fault !== "saga-crash-after-provider") return gateway;
  return {
    ...gateway,
    async charge(input) {
      const answer = await gateway.charge(input);
      log("warn", "fault injected: crashing after the provider answered a charge, before appending it");
      process.kill(process.pid, "SIGKILL");
      return answer;
    },
  };
}

/** The saga process: starts checkouts from OrderPlaced (a consumer with its inbox) and drives them. */
export async function runSaga(ctx: ProcessContext): Promise<void> {
  const { config, log } = ctx;
  const db = databases(config, "saga");
  const shop = createShop({
    sql: db.sql,
    readSql: db.readSql,
    notifyChannel: config.notifyChannel,
    gateway: providerGateway(config, log),
  });
  const sagaChannel = `${config.notifyChannel}_sagas`;
  const broker = connectBroker(config.amqpUrl, log, "eventline-saga");
  const registry = new Registry();
  new Gauge({
    name: "eventline_sagas",
    help: "Saga instances by status",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      const rows = await db.readSql<
        { status: string; n: number }[]
      >`select status, count(*)::int as n from eventline_saga_instances group by status`;
      for (const r of rows) this.set({ status: r.status }, r.n);
    },
  });
  // Saga instances live beside the starter's inbox, so starting one commits with consuming its event.
  const starter = createConsumer({
    def: checkoutStarter(sagaChannel),
    sql: db.readSql,
    store: shop.store,
    broker,
    exchange: config.eventsExchange,
    log: log.child({ consumer: "checkout" }),
    prefetch: config.consumer.prefetch,
    maxAttempts: config.consumer.maxAttempts,
    queueType: config.consumer.queueType,
    queuePrefix: config.consumer.queuePrefix,
    inboxRetentionMs: config.consumer.inboxRetentionMs,
  });
  const worker = createSagaWorker({
    sql: db.readSql,
    sagas: [checkoutSaga(shop.service)],
    log,
    notifyChannel: sagaChannel,
    leaseMs: config.sagaLeaseMs,
    afterAction:
      config.fault === "saga-crash-after-charge"
        ? (_instance, step) => {
            if (step !== "charge") return;
            log("warn", "fault injected: crashing after the charge, before recording it");
            process.kill(process.pid, "SIGKILL");
          }
        : undefined,
  });
  const probe = serveProbe(ctx, config.sagaMetricsPort, registry);
  // Registered before starting, so a stop requested during start-up is still a graceful one.
  onShutdown(log, async () => {
    await starter.stop();
    await worker.stop();
    await broker.close();
    await probe.stop();
    await db.end();
  });
  // The worker first: instances already in the table must move on even while the starter is still
  // catching up or waiting for the broker.
  await worker.start();
  await starter.start();
}
