/** Section 3: relay throughput beside plain amqplib confirm-channel publishing, and idle commit→delivery latency. */
import amqp from "amqplib";
import { Registry } from "prom-client";
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import { toEventMessage } from "../../src/broker/event-message.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import { createLogger } from "../../src/log.ts";
import { outboxStatus } from "../../src/outbox/outbox-queries.ts";
import { createRelay } from "../../src/outbox/relay.ts";
import { createRelayMetrics, type RelayMetrics } from "../../src/outbox/relay-metrics.ts";
import { connect } from "../../src/store/connect.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { runConcurrent, splitIntoRounds, summarize } from "./measure.ts";

export type RelayResult = {
  events: number;
  relayPerSecond: number;
  amqplibPerSecond: number;
  ratio: number;
  roundRatios: number[];
  idleP50Ms: number;
  idleP99Ms: number;
};

const quiet = createLogger({ role: "bench" }, "error");

export async function benchRelay(
  url: string,
  amqpUrl: string,
  events: number,
  idleSamples: number,
  rounds = 3,
): Promise<RelayResult> {
  const exchange = `bench.events.${crypto.randomUUID().slice(0, 8)}`;
  const notifyChannel = "bench_relay";
  const sql = connect(url, { max: 16 });
  const store = createPostgresEventStore({ sql, notifyChannel });
  const conn = await amqp.connect(amqpUrl);
  const ch = await conn.createChannel();
  await ch.assertExchange(exchange, "topic", { durable: true });
  const { queue } = await ch.assertQueue("", { exclusive: true });
  await ch.bindQueue(queue, exchange, "#");
  // The earlier sections leave ~150k outbox rows; deleted at once they stay behind as dead rows that every
  // claim walks past until autovacuum comes (one run each after the same sections: 6.6k/s drained without
  // the vacuum, 9.2k/s with it). A relay that deletes as it publishes never makes such a pile.
  await sql`delete from eventline_outbox`;
  await sql`vacuum (analyze) eventline_outbox`;

  // Rounds alternate the relay and plain amqplib over the same payloads, so a slow spell of this shared
  // machine falls on both sides instead of on whichever ran second (one relay run and one amqplib run, each
  // alone, gave ratios from 0.76 to 1.29 for the same code within minutes).
  const broker = connectBroker(amqpUrl, quiet, "bench-relay");
  const newMetrics = () => createRelayMetrics(new Registry(), async () => ({ depth: 0, oldestAgeSeconds: 0, parkedStreams: 0 }));
  const newRelay = (metrics: RelayMetrics) =>
    createRelay({
      sql,
      broker,
      log: quiet,
      exchange,
      notifyChannel,
      partitions: 16,
      batchSize: 1000,
      maxAttempts: 10,
      pollMs: 1000,
      metrics,
    });
  const confirm = await conn.createConfirmChannel();
  let relaySeconds = 0;
  let plainSeconds = 0;
  let relayed = 0;
  let plainSent = 0;
  // Each counted round's relay rate over its plain rate: the spread the total's ratio hides.
  const roundRatios: number[] = [];
  // A first, shorter round warms both sides up and is not counted: the first relay round of a process
  // spent 46 µs of CPU per message against 22-32 in the rounds after it (JIT, the channel's first use).
  const warmUp = Math.min(2_000, Math.ceil(events / 10));
  for (const [round, perRound] of [warmUp, ...splitIntoRounds(events, rounds)].entries()) {
    const counted = round > 0;
    // Every round starts with an empty queue, as a consumed one would be. Left to grow (nothing consumes it
    // here), the queue slowed the relay more than plain publishing (four runs of this section: 86-96% of
    // plain amqplib while it grew, 103-120% with the purge; plain itself 17.7-21.0k/s against 20.6-22.1k).
    await ch.purgeQueue(queue);
    // Fill the outbox with the relay stopped, then time how long it takes to drain.
    const written: RecordedEvent[] = [];
    await runConcurrent(64, perRound, async (i) => {
      const r = await store.appendToStream(`relay-${i % 500}-${exchange}`, [{ type: "BenchEvent", data: { i, round } }]);
      written.push(...r.events);
    });
    const metrics = newMetrics();
    const relay = newRelay(metrics);
    const started = performance.now();
    await relay.start();
    // Watch the relay's own counter rather than the table: counting the outbox every few milliseconds
    // would be work for the Postgres the relay is being timed against.
    const confirmed = async () => (await metrics.published.get()).values[0]?.value ?? 0;
    while ((await confirmed()) < perRound) await new Promise((r) => setTimeout(r, 5));
    while ((await outboxStatus(sql)).depth > 0) await new Promise((r) => setTimeout(r, 5));
    const roundRelaySeconds = (performance.now() - started) / 1000;
    if (counted) {
      relaySeconds += roundRelaySeconds;
      relayed += perRound;
    }
    await relay.stop();

    // The same payloads through plain amqplib, confirm channel, a window of 1000.
    const plainStarted = performance.now();
    for (let i = 0; i < written.length; i++) {
      const m = toEventMessage(written[i] as RecordedEvent);
      confirm.publish(exchange, m.routingKey, m.content, m.options);
      if (i % 1000 === 999) await confirm.waitForConfirms();
    }
    await confirm.waitForConfirms();
    if (counted) {
      const roundPlainSeconds = (performance.now() - plainStarted) / 1000;
      plainSeconds += roundPlainSeconds;
      plainSent += written.length;
      roundRatios.push(Math.round((100 * roundPlainSeconds) / roundRelaySeconds) / 100);
    }
  }

  // Idle: one append at a time; from the append's commit to the message arriving at a consumer.
  await ch.purgeQueue(queue);
  const arrived = new Map<string, number>();
  await ch.consume(queue, (m) => m && arrived.set(String(m.properties.messageId), performance.now()), { noAck: true });
  const relay = newRelay(newMetrics());
  await relay.start();
  const latencies: number[] = [];
  for (let i = 0; i < idleSamples; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const r = await store.appendToStream(`idle-${exchange}`, [{ type: "BenchEvent", data: { i } }]);
    const committed = performance.now();
    const id = r.events[0]?.eventId as string;
    while (!arrived.has(id)) await new Promise((res) => setTimeout(res, 0.2));
    latencies.push((arrived.get(id) as number) - committed);
  }
  const idle = summarize(latencies, 1);
  await relay.stop();
  await broker.close();
  await ch.deleteExchange(exchange);
  await conn.close();
  await sql.end();
  const relayPerSecond = relayed / relaySeconds;
  const amqplibPerSecond = plainSent / plainSeconds;
  return {
    events: relayed,
    relayPerSecond,
    amqplibPerSecond,
    ratio: relayPerSecond / amqplibPerSecond,
    roundRatios,
    idleP50Ms: idle.p50Ms,
    idleP99Ms: idle.p99Ms,
  };
}
