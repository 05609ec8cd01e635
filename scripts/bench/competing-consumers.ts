/**
 * Competing consumers: one per-event read model's queue served by 1, 2 and 4 instances (each with its own
 * broker connection, as separate processes would have). The events are appended first, then published
 * interleaved across streams, and timed from the first publish until the last one is applied.
 */
import amqp from "amqplib";
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import { toEventMessage } from "../../src/broker/event-message.ts";
import { createConsumer } from "../../src/consumers/consumer-runtime.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import { createLogger } from "../../src/log.ts";
import { connect } from "../../src/store/connect.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { deleteBrokerObjects } from "../broker-cleanup.ts";
import { streamCounter } from "./stream-counter.ts";

export type CompetingResult = { instances: number; events: number; perSecond: number };

const quiet = createLogger({ role: "bench" }, "error");

export async function benchCompetingConsumers(
  url: string,
  amqpUrl: string,
  instanceCounts: number[],
  events: number,
): Promise<CompetingResult[]> {
  const results: CompetingResult[] = [];
  for (const instances of instanceCounts) results.push(await measure(url, amqpUrl, instances, events));
  return results;
}

async function measure(url: string, amqpUrl: string, instances: number, total: number): Promise<CompetingResult> {
  const category = `benchcc${instances}`;
  const def = streamCounter(`bench_cc_${instances}`, category, "one upsert per event");
  const exchange = `bench.cc.${crypto.randomUUID().slice(0, 8)}`;
  const sql = connect(url, { max: 8 * instances });
  const store = createPostgresEventStore({ sql });
  const running = Array.from({ length: instances }, (_, i) => {
    const broker = connectBroker(amqpUrl, quiet, `bench-cc-${i}`);
    const consumer = createConsumer({
      def,
      sql,
      store,
      broker,
      exchange,
      log: quiet,
      prefetch: 64,
      queuePrefix: "bench",
      sweep: { everyMs: 1_000, graceMs: 600_000 },
    });
    return { broker, consumer };
  });
  const conn = await amqp.connect(amqpUrl);
  try {
    // Started before the events exist, so no instance's catch-up from the store applies them.
    for (const r of running) await r.consumer.start();
    const streams = 200;
    const perStream = Math.max(1, Math.round(total / streams));
    const recorded: RecordedEvent[] = [];
    for (let s = 0; s < streams; s++) {
      const r = await store.appendToStream(
        `${category}-${s}`,
        Array.from({ length: perStream }, () => ({ type: "Ticked", data: {} })),
      );
      recorded.push(...r.events);
    }
    await sql`delete from eventline_outbox`;
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange(exchange, "topic", { durable: true });
    const interleaved = [...recorded].sort((a, b) => a.version - b.version || a.position - b.position);
    const started = performance.now();
    for (const e of interleaved) {
      const m = toEventMessage(e);
      ch.publish(exchange, m.routingKey, m.content, m.options);
    }
    await ch.waitForConfirms();
    // Counted in the read model itself: an instance that fills a gap applies events delivered to another.
    const deadline = performance.now() + 120_000;
    let applied = 0;
    while (applied < recorded.length && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      const [row] = await sql<{ n: number }[]>`select coalesce(sum(n), 0)::int as n from ${sql(def.name)}`;
      applied = row?.n ?? 0;
    }
    if (applied < recorded.length) throw new Error(`${instances} instances applied ${applied} of ${recorded.length}`);
    return { instances, events: recorded.length, perSecond: recorded.length / ((performance.now() - started) / 1000) };
  } finally {
    for (const r of running) {
      await r.consumer.stop();
      await r.broker.close();
    }
    await conn.close();
    await deleteBrokerObjects(amqpUrl, { consumers: [def.name], prefix: "bench", exchanges: [exchange] });
    await sql.end();
  }
}
