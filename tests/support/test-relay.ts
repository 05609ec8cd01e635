import { connectBroker } from "../../src/broker/amqp-connection.ts";
import { createLogger } from "../../src/log.ts";
import { createRelay, type RelayOptions } from "../../src/outbox/relay.ts";
import { amqpUrl } from "./amqp.ts";

const quiet = createLogger({ role: "test" }, "error");

/** A relay on the test broker with its own connection, small defaults, and a stop that closes both. */
export function testRelay(options: Pick<RelayOptions, "sql" | "exchange" | "notifyChannel"> & Partial<RelayOptions>) {
  const broker = connectBroker(amqpUrl(), quiet, "test-relay");
  const relay = createRelay({ broker, log: quiet, partitions: 8, batchSize: 100, maxAttempts: 5, pollMs: 200, ...options });
  return {
    relay,
    broker,
    async start() {
      await relay.start();
      return this;
    },
    async stop() {
      await relay.stop();
      await broker.close();
    },
  };
}
