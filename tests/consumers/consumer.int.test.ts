import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import amqp from "amqplib";
import { Registry } from "prom-client";
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import type { EventStore } from "../../src/core/event-store.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import { consumerLag, hasApplied } from "../../src/consumers/catch-up.ts";
import type { ConsumerDefinition } from "../../src/consumers/consumer-definition.ts";
import { createConsumerMetrics } from "../../src/consumers/consumer-metrics.ts";
import { createConsumer } from "../../src/consumers/consumer-runtime.ts";
import { listDeadLetters, purgeDeadLetters, replayDeadLetters } from "../../src/consumers/dead-letters.ts";
import { pruneInbox } from "../../src/consumers/prune-inbox.ts";
import { queueNames } from "../../src/consumers/topology.ts";
import { createLogger } from "../../src/log.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { createPublisher, faults, tallyConsumer } from "../support/tally-consumer.ts";

const quiet = createLogger({ role: "test" }, "error");
const exchange = `test.consumers.${crypto.randomUUID().slice(0, 8)}`;
let db: TestDatabase;
let store: EventStore;
let publisher: Awaited<ReturnType<typeof createPublisher>>;
let admin: amqp.ChannelModel;

beforeAll(async () => {
  db = await createTestDatabase({ max: 20 });
  store = createPostgresEventStore({ sql: db.sql });
  publisher = await createPublisher(exchange);
  admin = await amqp.connect(amqpUrl());
});
const used = new Set<string>();
afterAll(async () => {
  await deleteBrokerObjects(amqpUrl(), { consumers: [...used], exchanges: [exchange] });
  await publisher.close();
  await admin.close();
  await db.drop();
});

function startConsumer(def: ConsumerDefinition, overrides: { maxAttempts?: number; registry?: Registry } = {}) {
  used.add(def.name);
  const broker = connectBroker(amqpUrl(), quiet, `test-${def.name}`);
  const registry = overrides.registry ?? new Registry();
  const metrics = createConsumerMetrics(registry, async () => []);
  const consumer = createConsumer({
    def,
    sql: db.sql,
    store,
    broker,
    exchange,
    log: quiet,
    prefetch: 8,
    maxAttempts: overrides.maxAttempts ?? 3,
    retry: { baseMs: 20, maxMs: 100 },
    sweep: { everyMs: 200, graceMs: 60_000 },
    metrics,
  });
  return {
    consumer,
    registry,
    async start() {
      await consumer.start();
      return this;
    },
    async stop() {
      await consumer.stop();
      await broker.close();
    },
  };
}

/** The read model's rows for the given streams (a new consumer also catches up other tests' events). */
async function tally(def: ConsumerDefinition, streams: string[]) {
  const rows = await db.sql<{ stream_id: string; total: number; events: number }[]>`
    select stream_id, total, events from ${db.sql(def.name)} where stream_id = any(${streams}::text[]) order by stream_id`;
  return rows.map((r) => ({ ...r }));
}

async function until(predicate: () => Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(25);
  }
}

async function appendTicks(streamId: string, ns: (number | { n: number; boom: boolean })[]): Promise<RecordedEvent[]> {
  const r = await store.appendToStream(
    streamId,
    ns.map((n) => ({ type: "Ticked", data: typeof n === "number" ? { n } : n })),
  );
  return r.events;
}

async function metric(registry: Registry, name: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((sum, v) => sum + Number(v.value), 0);
}

describe("a consumer", () => {
  it("changes its read model once when the same event is delivered three times", async () => {
    const def = tallyConsumer();
    const c = await startConsumer(def).start();
    try {
      const s = `tick-${crypto.randomUUID()}`;
      const [e] = await appendTicks(s, [5]);
      await publisher.publish(e!, e!, e!);
      await until(async () => (await metric(c.registry, "eventline_consumer_duplicates_total")) >= 2);
      expect(await tally(def, [s])).toEqual([{ stream_id: s, total: 5, events: 1 }]);
      expect(await metric(c.registry, "eventline_consumer_applied_total")).toBe(1);
    } finally {
      await c.stop();
    }
  });

  it("ends as if delivered in order when v3 arrives before v2", async () => {
    const def = tallyConsumer();
    const c = await startConsumer(def).start();
    try {
      const s = `tick-${crypto.randomUUID()}`;
      const [v1, v2, v3] = await appendTicks(s, [1, 10, 100]);
      // v2 is held back: the consumer must fetch it from the store to apply v3.
      await publisher.publish(v1!, v3!);
      await until(async () => (await tally(def, [s]))[0]?.events === 3);
      await publisher.publish(v2!);
      await until(async () => (await metric(c.registry, "eventline_consumer_duplicates_total")) >= 1);
      expect(await tally(def, [s])).toEqual([{ stream_id: s, total: 111, events: 3 }]);
      expect(await metric(c.registry, "eventline_consumer_gap_filled_total")).toBeGreaterThanOrEqual(1);
    } finally {
      await c.stop();
    }
  });

  it("dead-letters an event whose handler keeps failing while others apply, and applies it once when replayed", async () => {
    const def = tallyConsumer();
    const c = await startConsumer(def, { maxAttempts: 3 }).start();
    faults.boom = true;
    try {
      const bad = `tick-${crypto.randomUUID()}`;
      const good = `tick-${crypto.randomUUID()}`;
      const [b] = await appendTicks(bad, [{ n: 7, boom: true }]);
      const goods = await appendTicks(good, [1, 2, 3]);
      await publisher.publish(b!, ...goods);
      const deadOf = async () => (await listDeadLetters(admin, def.name)).filter((d) => d.messageId === b!.eventId);
      await until(async () => (await deadOf()).length === 1);
      const [dead] = await deadOf();
      expect(dead).toMatchObject({ messageId: b!.eventId, reason: "the handler blew up", attempts: 3, streamId: bad });
      expect(await tally(def, [bad, good])).toEqual([{ stream_id: good, total: 6, events: 3 }]);
      faults.boom = false;
      expect(await replayDeadLetters(admin, def.name, [b!.eventId])).toBe(1);
      await until(async () => (await tally(def, [bad, good])).length === 2);
      await Bun.sleep(200);
      expect((await tally(def, [bad])).find((r) => r.stream_id === bad)).toEqual({ stream_id: bad, total: 7, events: 1 });
      expect(await deadOf()).toEqual([]);
    } finally {
      faults.boom = true;
      await c.stop();
    }
  });

  it("dead-letters messages that are not JSON or lack headers, with the reason, and keeps going", async () => {
    const def = tallyConsumer();
    const c = await startConsumer(def).start();
    try {
      await publisher.raw("tick.Ticked", Buffer.from("{not json"), {
        messageId: "m1",
        headers: { "x-stream-id": "tick-x", "x-stream-version": 1 },
      });
      await publisher.raw("tick.Ticked", Buffer.from("{}"), { messageId: "m2" });
      const [real] = await appendTicks(`tick-${crypto.randomUUID()}`, [1]);
      const forged = { ...real!, eventId: crypto.randomUUID() };
      await publisher.raw("tick.Ticked", Buffer.from(JSON.stringify(forged)), {
        messageId: "m3",
        type: "Bogus",
        headers: { "x-stream-id": forged.streamId, "x-stream-version": forged.version },
      });
      const s = `tick-${crypto.randomUUID()}`;
      await publisher.publish(...(await appendTicks(s, [4])));
      await until(async () => (await listDeadLetters(admin, def.name)).length >= 3 && (await tally(def, [s])).length === 1);
      const reasons = (await listDeadLetters(admin, def.name))
        .filter((d) => d.messageId.startsWith("m"))
        .map((d) => [d.messageId, d.reason]);
      expect(reasons).toEqual([
        ["m1", "body is not valid JSON"],
        ["m2", "missing headers: x-stream-id and x-stream-version are required"],
        ["m3", "unknown type: the message says Bogus, the envelope Ticked"],
      ]);
      expect(await purgeDeadLetters(admin, def.name)).toBeGreaterThanOrEqual(3);
    } finally {
      await c.stop();
    }
  });

  it("converges after catch-up when its queue was purged while it was down", async () => {
    const def = tallyConsumer();
    const first = await startConsumer(def).start();
    await first.stop();
    const s = `tick-${crypto.randomUUID()}`;
    await publisher.publish(...(await appendTicks(s, [1, 2, 3, 4])));
    const ch = await admin.createChannel();
    expect((await ch.purgeQueue(queueNames(def.name).main)).messageCount).toBe(4);
    await ch.close();
    const second = await startConsumer(def).start();
    try {
      expect(await tally(def, [s])).toEqual([{ stream_id: s, total: 10, events: 4 }]);
    } finally {
      await second.stop();
    }
  });

  it("reports lag and whether a position is applied, for read-your-writes", async () => {
    const def = tallyConsumer();
    const c = await startConsumer(def).start();
    try {
      const s = `tick-${crypto.randomUUID()}`;
      const [e1] = await appendTicks(s, [1]);
      await publisher.publish(e1!);
      const deps = { sql: db.sql, store, def, tables: { [def.name]: def.name } };
      await until(() => hasApplied(deps, e1!.position));
      const [e2] = await appendTicks(s, [2]); // committed but never published
      expect(await hasApplied(deps, e2!.position)).toBe(false);
      const lag = await consumerLag(deps);
      expect(lag.lag).toBeGreaterThan(0);
      await publisher.publish(e2!);
      await until(() => hasApplied(deps, e2!.position));
    } finally {
      await c.stop();
    }
  });

  it("applies a burst of deliveries in shared transactions, each stream in order, duplicates and gaps included", async () => {
    const perEvent = tallyConsumer();
    const batchSizes: number[] = [];
    const def: ConsumerDefinition = {
      ...perEvent,
      // The tally's own handler, event by event, so a batch that broke stream order would throw.
      handleBatch: async (ctx) => {
        batchSizes.push(ctx.events.length);
        for (const event of ctx.events) await perEvent.handlers.Ticked!({ ...ctx, event });
      },
    };
    const c = await startConsumer(def).start();
    try {
      const streams = Array.from({ length: 4 }, () => `tick-${crypto.randomUUID()}`);
      const written = await Promise.all(streams.map((s) => appendTicks(s, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])));
      // Interleaved across streams, every third event twice, and one stream's fifth event held back.
      const burst = written[0]!.flatMap((_, v) => written.map((events) => events[v]!));
      const held = written[3]![4]!;
      await publisher.publish(...burst.filter((e) => e !== held).flatMap((e, i) => (i % 3 === 0 ? [e, e] : [e])));
      await publisher.publish(held);
      await until(
        async () => (await tally(def, streams)).every((r) => r.events === 10) && (await tally(def, streams)).length === 4,
      );
      expect(await tally(def, streams)).toEqual(streams.sort().map((stream_id) => ({ stream_id, total: 55, events: 10 })));
      // More than a gap fill's two: deliveries went through together.
      expect(Math.max(...batchSizes)).toBeGreaterThan(2);
    } finally {
      await c.stop();
    }
  });

  it("does not call a committed event applied while an older transaction is still running", async () => {
    const def = tallyConsumer();
    const deps = { sql: db.sql, store, def, tables: { [def.name]: def.name } };
    // A transaction that took its id before the append and is still open holds the gap-safe horizon back.
    const slow = await db.sql.reserve();
    try {
      await slow`begin`;
      await slow`select pg_current_xact_id()`;
      const [e1] = await appendTicks(`tick-${crypto.randomUUID()}`, [1]); // committed, never applied
      expect(await hasApplied(deps, e1!.position)).toBe(false);
    } finally {
      await slow`rollback`;
      slow.release();
    }
  });

  it("still recognises a late duplicate after its inbox row was pruned", async () => {
    const def = tallyConsumer();
    const c = await startConsumer(def).start();
    try {
      const s = `tick-${crypto.randomUUID()}`;
      const [e] = await appendTicks(s, [9]);
      await publisher.publish(e!);
      await until(async () => (await tally(def, [s])).length === 1);
      await db.sql`update eventline_inbox set applied_at = now() - interval '30 days' where event_id = ${e!.eventId}`;
      expect(await pruneInbox(db.sql, { olderThanMs: 7 * 24 * 3600 * 1000, batchSize: 2 })).toBeGreaterThanOrEqual(1);
      expect(await db.sql`select 1 from eventline_inbox where event_id = ${e!.eventId}`).toHaveLength(0);
      await publisher.publish(e!);
      await until(async () => (await metric(c.registry, "eventline_consumer_duplicates_total")) >= 1);
      expect(await tally(def, [s])).toEqual([{ stream_id: s, total: 9, events: 1 }]);
    } finally {
      await c.stop();
    }
  });

  it("ends with the same read model from two instances under load as one instance has", async () => {
    const one = tallyConsumer();
    const two = tallyConsumer();
    const single = await startConsumer(one).start();
    const pairA = await startConsumer(two).start();
    const pairB = await startConsumer(two).start();
    try {
      const streams = Array.from({ length: 20 }, () => `tick-${crypto.randomUUID()}`);
      const sent: RecordedEvent[] = [];
      for (let round = 0; round < 15; round++) {
        const batch = (await Promise.all(streams.map((s) => appendTicks(s, [round + 1, 1])))).flat();
        sent.push(...batch);
        // Some duplicates and some reordering, as a broker after a reconnect may deliver.
        const noisy = [...batch, ...batch.filter((_, i) => i % 7 === 0)].sort(() => Math.random() - 0.5);
        await publisher.publish(...noisy);
      }
      const expected = streams
        .map((s) => ({ stream_id: s, total: (15 * 16) / 2 + 15, events: 30 }))
        .sort((a, b) => (a.stream_id < b.stream_id ? -1 : 1));
      await until(async () => JSON.stringify(await tally(one, streams)) === JSON.stringify(expected), 30_000);
      await until(async () => JSON.stringify(await tally(two, streams)) === JSON.stringify(expected), 30_000);
      expect(await tally(two, streams)).toEqual(await tally(one, streams));
      expect(sent).toHaveLength(600);
    } finally {
      await Promise.all([single.stop(), pairA.stop(), pairB.stop()]);
    }
  }, 60_000);
});
