import type { AmqpConnectionManager } from "amqp-connection-manager";
import type { Registry } from "prom-client";
import type { Sql } from "postgres";
import { consumerLag } from "../consumers/catch-up.ts";
import { type ConsumerDefinition, liveTables } from "../consumers/consumer-definition.ts";
import { createConsumerMetrics } from "../consumers/consumer-metrics.ts";
import { createConsumer } from "../consumers/consumer-runtime.ts";
import type { EventStore } from "../core/event-store.ts";
import type { Liveness } from "../core/liveness.ts";
import type { RecordedEvent } from "../core/messages.ts";
import type { ProcessContext } from "./process-kit.ts";

/**
 * A process's consumers (read models, or a saga process's starters), configured from the environment as
 * every process configures them: one metrics set with their lag, the process's liveness, the audit.
 */
export function processConsumers(
  ctx: ProcessContext,
  parts: {
    defs: ConsumerDefinition[];
    sql: Sql;
    store: EventStore;
    broker: AmqpConnectionManager;
    registry: Registry;
    liveness: Liveness;
    prepare?: (events: RecordedEvent[]) => Promise<RecordedEvent[]>;
  },
) {
  const { config, log } = ctx;
  const { defs, sql, store } = parts;
  const metrics = createConsumerMetrics(parts.registry, () =>
    Promise.all(defs.map((def) => consumerLag({ sql, store, def, tables: liveTables(def) }))),
  );
  return defs.map((def) =>
    createConsumer({
      def,
      sql,
      store,
      broker: parts.broker,
      exchange: config.eventsExchange,
      log: log.child({ consumer: def.name }),
      prefetch: config.consumer.prefetch,
      maxAttempts: config.consumer.maxAttempts,
      queueType: config.consumer.queueType,
      inboxRetentionMs: config.consumer.inboxRetentionMs,
      queuePrefix: config.consumer.queuePrefix,
      prepare: parts.prepare,
      metrics,
      liveness: parts.liveness,
      audit: { lagMs: config.auditLagMs },
    }),
  );
}
