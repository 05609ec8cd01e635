import { freePort } from "../../scripts/process-runner.ts";
import { amqpUrl } from "./amqp.ts";
import type { TestDatabase } from "./pg.ts";

export { freePort, jsonLines, type RunningProcess, shopProcesses, startProcess } from "../../scripts/process-runner.ts";

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
