import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { freePort } from "../../scripts/process-runner.ts";
import { amqpUrl } from "./amqp.ts";
import type { TestDatabase } from "./pg.ts";

import { type RunningProcess, shopProcesses, startProcess } from "../../scripts/process-runner.ts";

export { freePort, jsonLines, type RunningProcess, shopProcesses, startProcess } from "../../scripts/process-runner.ts";

/** Starts every shop process with `env` and waits until the API and the payment provider answer. */
export async function startShop(env: Record<string, string>, base: string, ms = 30_000): Promise<RunningProcess[]> {
  const running = Object.entries(shopProcesses).map(([name, args]) => startProcess(name, args, env));
  const deadline = Date.now() + ms;
  for (const url of [`${base}/health`, `${env.PAYMENT_PROVIDER_URL}/health`]) {
    while (
      (await fetch(url).then(
        (r) => r.status,
        () => 0,
      )) !== 200
    ) {
      if (Date.now() > deadline) {
        for (const p of running) console.log(`on failure: ${p.name} log\n${p.lines.slice(-10).join("\n")}`);
        throw new Error(`${url} did not answer within ${ms} ms`);
      }
      await Bun.sleep(100);
    }
  }
  return running;
}

/** The shop's consumers: its four read models and the checkout saga's starter. */
export const shopConsumers = ["catalog", "orders", "customers", "sales", "checkout"];

/** Stops the shop's processes (SIGTERM) and deletes the queues and exchange its test environment named. */
export async function stopShop(running: Iterable<RunningProcess>, env: Record<string, string>): Promise<void> {
  for (const p of running) await p.stop("SIGTERM");
  await deleteBrokerObjects(amqpUrl(), {
    consumers: shopConsumers,
    prefix: env.QUEUE_PREFIX,
    exchanges: [env.EVENTS_EXCHANGE as string],
  });
}

/**
 * The environment for every shop process of one test: its own schema, exchange, queues and channel, the
 * API and the payment provider on free ports, probes on any port. `base` is the API's URL.
 */
export function shopProcessEnv(
  db: Pick<TestDatabase, "url"> & { schema?: string },
  name: string,
  extra: Record<string, string> = {},
) {
  const tag = crypto.randomUUID().slice(0, 8);
  const port = freePort();
  const providerPort = freePort();
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    AMQP_URL: amqpUrl(),
    ...(db.schema ? { DATABASE_SCHEMA: db.schema } : {}),
    EVENTS_EXCHANGE: `test.${name}.${tag}`,
    QUEUE_PREFIX: `test.${tag}`,
    NOTIFY_CHANNEL: `${name}_${tag}`,
    PORT: String(port),
    RELAY_METRICS_PORT: "0",
    CONSUMER_METRICS_PORT: "0",
    SAGA_METRICS_PORT: "0",
    PAYMENT_PROVIDER_PORT: String(providerPort),
    PAYMENT_PROVIDER_URL: `http://127.0.0.1:${providerPort}`,
    ...extra,
  };
  return { env, base: `http://127.0.0.1:${port}` };
}
