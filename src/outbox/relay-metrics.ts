import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type RelayMetrics = {
  published: Counter;
  returned: Counter;
  failed: Counter;
  parked: Counter;
  confirmSeconds: Histogram;
};

/** The relay's metrics; depth and oldest age are read from the outbox when scraped. */
export function createRelayMetrics(
  registry: Registry,
  depth: () => Promise<{ depth: number; oldestAgeSeconds: number; parkedStreams: number }>,
): RelayMetrics {
  const read = async () => depth().catch(() => undefined);
  new Gauge({
    name: "eventline_outbox_depth",
    help: "Rows in the outbox not yet confirmed by the broker",
    registers: [registry],
    async collect() {
      const d = await read();
      if (d) this.set(d.depth);
    },
  });
  new Gauge({
    name: "eventline_outbox_oldest_pending_age_seconds",
    help: "Age of the oldest unpublished outbox row",
    registers: [registry],
    async collect() {
      const d = await read();
      if (d) this.set(d.oldestAgeSeconds);
    },
  });
  new Gauge({
    name: "eventline_outbox_parked_streams",
    help: "Streams parked after repeated publish failures",
    registers: [registry],
    async collect() {
      const d = await read();
      if (d) this.set(d.parkedStreams);
    },
  });
  return {
    published: new Counter({
      name: "eventline_relay_published_total",
      help: "Events confirmed by the broker",
      registers: [registry],
    }),
    returned: new Counter({
      name: "eventline_relay_returned_total",
      help: "Events returned as unroutable",
      registers: [registry],
    }),
    failed: new Counter({ name: "eventline_relay_failed_total", help: "Publish attempts that failed", registers: [registry] }),
    parked: new Counter({ name: "eventline_relay_parked_total", help: "Streams parked", registers: [registry] }),
    confirmSeconds: new Histogram({
      name: "eventline_relay_confirm_seconds",
      help: "Time from publish to broker confirm",
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
  };
}
