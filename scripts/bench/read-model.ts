/** Section 4: commit→read-model latency at a fixed rate, and the highest rate held without growing lag. */
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import { createConsumer } from "../../src/consumers/consumer-runtime.ts";
import { createLogger } from "../../src/log.ts";
import { createRelay } from "../../src/outbox/relay.ts";
import { connect } from "../../src/store/connect.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { deleteBrokerObjects } from "../broker-cleanup.ts";
import { backlogGrew } from "./backlog-grew.ts";
import { summarize } from "./measure.ts";
import { type CounterStyle, streamCounter } from "./stream-counter.ts";

export type ReadModelResult = {
  handler: string;
  rate: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  highestSustainedRate: number | null;
};

const quiet = createLogger({ role: "bench" }, "error");

export async function benchReadModel(
  url: string,
  amqpUrl: string,
  rate: number,
  seconds: number,
  sustain: { rates: number[]; seconds: number } | null,
  handler: CounterStyle,
): Promise<ReadModelResult> {
  // A consumer and a category per handler style, so one measurement inherits nothing from the other.
  const category = handler === "one upsert per event" ? "benchrme" : "benchrms";
  const benchTally = streamCounter(`bench_tally_${category}`, category, handler);
  const exchange = `bench.rm.${crypto.randomUUID().slice(0, 8)}`;
  const notifyChannel = "bench_rm";
  const sql = connect(url, { max: 24 });
  // Rows an earlier section left unpublished (its exchange is gone) would only slow this relay down.
  await sql`delete from eventline_outbox`;
  const store = createPostgresEventStore({ sql, notifyChannel });
  const broker = connectBroker(amqpUrl, quiet, "bench-rm");
  const committed = new Map<string, number>();
  const applied = new Map<string, number>();
  const relay = createRelay({
    sql,
    broker,
    log: quiet,
    exchange,
    notifyChannel,
    partitions: 16,
    batchSize: 500,
    maxAttempts: 10,
    pollMs: 1000,
  });
  const consumer = createConsumer({
    def: benchTally,
    sql,
    store,
    broker,
    exchange,
    log: quiet,
    prefetch: 64,
    queuePrefix: "bench",
    onApplied: (e) => applied.set(e.eventId, performance.now()),
  });
  await relay.start();
  await consumer.start();

  /** Appends at `perSecond` for `duration` seconds (in ticks of 10 ms); returns how many it appended. */
  async function load(perSecond: number, duration: number): Promise<string[]> {
    const ids: string[] = [];
    const perTick = Math.max(1, Math.round(perSecond / 100));
    const ticks = Math.round(duration * 100);
    const started = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let t = 0; t < ticks; t++) {
      for (let k = 0; k < perTick; k++) {
        inFlight.push(
          store.appendToStream(`${category}-${(t * perTick + k) % 200}`, [{ type: "Ticked", data: {} }]).then((r) => {
            const id = r.events[0]?.eventId as string;
            committed.set(id, performance.now());
            ids.push(id);
          }),
        );
      }
      const wait = started + (t + 1) * 10 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await Promise.all(inFlight);
    return ids;
  }

  /** Waits up to graceMs for these events to be applied; how many were not. */
  async function settle(ids: string[], graceMs: number) {
    const deadline = performance.now() + graceMs;
    // Only the pending ones are looked at again: rescanning a minute's 240k ids every 20 ms would be work
    // for the process that also runs the consumer being waited for.
    let pending = ids.filter((id) => !applied.has(id));
    while (pending.length > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      pending = pending.filter((id) => !applied.has(id));
    }
    return pending.length;
  }

  try {
    const ids = await load(rate, seconds);
    await settle(ids, 10_000);
    const latencies = ids
      .filter((id) => applied.has(id))
      .map((id) => Math.max(0, (applied.get(id) as number) - (committed.get(id) as number)));
    const measured = summarize(latencies, seconds);
    let highestSustainedRate: number | null = null;
    if (sustain) {
      highestSustainedRate = 0;
      for (const r of sustain.rates) {
        const backlog: number[] = [];
        // Committed and not yet applied, over the whole section: earlier phases settled before this one.
        const sampler = setInterval(() => backlog.push(committed.size - applied.size), 1_000);
        let batch: string[];
        try {
          batch = await load(r, sustain.seconds);
        } finally {
          clearInterval(sampler);
        }
        // Held: the backlog did not grow through the minute, and all of it was applied soon after (judged
        // by the backlog's end alone, one stall in the last seconds decided it: 2000/s in five runs of
        // eight, 4000/s in three, the same code).
        const behind = await settle(batch, 10_000);
        if (behind > 0 || backlogGrew(backlog, r)) break;
        highestSustainedRate = r;
      }
    }
    return { handler, rate, seconds, p50Ms: measured.p50Ms, p99Ms: measured.p99Ms, highestSustainedRate };
  } finally {
    await consumer.stop();
    await relay.stop();
    await broker.close();
    await deleteBrokerObjects(amqpUrl, { consumers: [benchTally.name], prefix: "bench", exchanges: [exchange] });
    await sql.end();
  }
}
