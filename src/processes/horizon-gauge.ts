import { Gauge, type Registry } from "prom-client";
import type { Sql } from "postgres";
import { oldestTransaction } from "../store/horizon.ts";

/** `eventline_oldest_transaction_age_seconds`, read when scraped: how long readers of the log have been held back. */
export function horizonGauge(registry: Registry, sql: Sql): void {
  new Gauge({
    name: "eventline_oldest_transaction_age_seconds",
    help: "Age of the oldest open transaction with an id: the gap-safe horizon cannot move past its start",
    registers: [registry],
    async collect() {
      this.set((await oldestTransaction(sql).catch(() => ({ ageSeconds: 0 }))).ageSeconds);
    },
  });
}
