import { Counter, Gauge, type Registry } from "prom-client";
import type { Lag } from "./catch-up.ts";

export type ConsumerMetrics = {
  applied: Counter<"consumer">;
  duplicates: Counter<"consumer">;
  gapFilled: Counter<"consumer">;
  retried: Counter<"consumer">;
  deadLettered: Counter<"consumer">;
  /** What the consumer's own audit last found: unapplied events past the allowed lag, unknown versions. */
  missingEvents: Gauge<"consumer">;
  unknownVersions: Gauge<"consumer">;
};

/** Per-consumer counters, and lag gauges computed when scraped. */
export function createConsumerMetrics(registry: Registry, lags: () => Promise<Lag[]>): ConsumerMetrics {
  const read = () => lags().catch(() => [] as Lag[]);
  new Gauge({
    name: "eventline_consumer_lag_events",
    help: "Head position of the event log minus the consumer's applied position",
    labelNames: ["consumer"],
    registers: [registry],
    async collect() {
      for (const l of await read()) this.set({ consumer: l.consumer }, l.lag);
    },
  });
  new Gauge({
    name: "eventline_consumer_oldest_unapplied_age_seconds",
    help: "Age of the oldest event the consumer has not applied",
    labelNames: ["consumer"],
    registers: [registry],
    async collect() {
      for (const l of await read()) this.set({ consumer: l.consumer }, l.oldestUnappliedAgeSeconds);
    },
  });
  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ["consumer"] as const, registers: [registry] });
  return {
    applied: counter("eventline_consumer_applied_total", "Events applied to read models"),
    duplicates: counter("eventline_consumer_duplicates_total", "Deliveries skipped as already applied"),
    gapFilled: counter("eventline_consumer_gap_filled_total", "Events read from the store to fill a gap"),
    retried: counter("eventline_consumer_retried_total", "Deliveries sent to the retry queue"),
    deadLettered: counter("eventline_consumer_dead_lettered_total", "Deliveries sent to the dead-letter queue"),
    missingEvents: new Gauge({
      name: "eventline_consumer_missing_events",
      help: "Events older than the allowed lag (AUDIT_LAG_SECONDS) that the read model has not applied, by its audit",
      labelNames: ["consumer"],
      registers: [registry],
    }),
    unknownVersions: new Gauge({
      name: "eventline_consumer_unknown_versions",
      help: "Streams whose applied version in the read model is beyond the store's, by its audit",
      labelNames: ["consumer"],
      registers: [registry],
    }),
  };
}
