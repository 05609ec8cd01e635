import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { toEventMessage } from "../../src/broker/event-message.ts";
import type { EventStore } from "../../src/core/event-store.ts";
import { outboxStatus, releaseAllStreams, releaseStream } from "../../src/outbox/outbox-queries.ts";
import type { RelayOptions } from "../../src/outbox/relay.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl, createCollector, versionsByStream } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { testRelay } from "../support/test-relay.ts";

const exchange = `test.events.${crypto.randomUUID().slice(0, 8)}`;
const notifyChannel = `relay_${crypto.randomUUID().slice(0, 8)}`;
let db: TestDatabase;
let store: EventStore;

beforeAll(async () => {
  db = await createTestDatabase();
  store = createPostgresEventStore({ sql: db.sql, notifyChannel });
});
afterAll(async () => {
  await deleteBrokerObjects(amqpUrl(), { consumers: [], exchanges: [exchange] });
  await db.drop();
});

const startRelay = (overrides: Partial<RelayOptions> = {}) => testRelay({ sql: db.sql, exchange, notifyChannel, ...overrides });

async function depth(streamId?: string) {
  if (!streamId) return (await outboxStatus(db.sql)).depth;
  const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from eventline_outbox where stream_id = ${streamId}`;
  return row?.n ?? 0;
}

async function appendMany(streams: string[], perStream: number) {
  const ids: string[] = [];
  for (let v = 0; v < perStream; v++) {
    const results = await Promise.all(streams.map((s) => store.appendToStream(s, [{ type: "Ticked", data: { v } }])));
    ids.push(...results.flatMap((r) => r.events.map((e) => e.eventId)));
  }
  return ids;
}

/** Each event arrived exactly once, and each stream's in version order from 1: a fault-free run has no duplicate. */
async function expectEachOnceInOrder(received: Parameters<typeof versionsByStream>[0], ids: string[], perStream: number) {
  await Bun.sleep(300);
  expect(received.map((m) => m.messageId).sort()).toEqual([...ids].sort());
  for (const [, versions] of versionsByStream(received)) {
    expect(versions).toEqual(Array.from({ length: perStream }, (_, i) => i + 1));
  }
}

describe("the outbox relay", () => {
  it("delivers every committed event with its envelope, routing key and headers, in stream order", async () => {
    const collector = await createCollector(exchange);
    const r = await startRelay().start();
    try {
      const streams = Array.from({ length: 10 }, () => `clock-${crypto.randomUUID()}`);
      const ids = await appendMany(streams, 20);
      await collector.until(() => new Set(collector.received.map((m) => m.messageId)).size >= ids.length);
      await expectEachOnceInOrder(collector.received, ids, 20);
      const first = collector.received[0]?.message;
      expect(first?.fields.routingKey).toBe("clock.Ticked");
      expect(first?.properties).toMatchObject({ contentType: "application/json", type: "Ticked", deliveryMode: 2 });
      const body = JSON.parse(String(first?.content));
      expect(body).toMatchObject({ eventId: first?.properties.messageId, type: "Ticked", data: { v: 0 } });
      expect(first?.properties.headers).toMatchObject({ "x-stream-version": 1, "x-schema-version": 1 });
      expect(first?.properties.correlationId).toBe(body.metadata.correlationId);
      await Bun.sleep(100);
      expect(await depth()).toBe(0);
    } finally {
      await r.stop();
      await collector.close();
    }
  });

  it("sends each event exactly as toEventMessage writes it from the stored event, escapes, trace and time included", async () => {
    const collector = await createCollector(exchange);
    const r = await startRelay().start();
    try {
      const streamId = `quote-${crypto.randomUUID()}`;
      const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      const written = await store.appendToStream(streamId, [
        { type: "Quoted", data: { text: 'a "quote", a \\ backslash, a\nnewline, a\ttab, é, 😀, </script>', n: [1, 2.5, null] } },
        { type: "Quoted", data: {}, metadata: { correlationId: "c-1", causationId: "c-0", traceparent } },
        { type: "Quoted", data: { deep: { a: { b: [true, false] } } }, schemaVersion: 2 },
      ]);
      await collector.until(() => collector.received.filter((m) => m.streamId === streamId).length >= 3);
      const stored = await store.readStream(streamId);
      expect(stored.map((e) => e.eventId)).toEqual(written.events.map((e) => e.eventId));
      for (const event of stored) {
        const got = collector.received.find((m) => m.messageId === event.eventId)?.message;
        const expected = toEventMessage(event);
        expect(JSON.parse(String(got?.content))).toEqual(JSON.parse(String(expected.content)));
        expect(got?.fields.routingKey).toBe(expected.routingKey);
        const { persistent, mandatory, ...properties } = expected.options;
        expect(got?.properties).toMatchObject({ ...properties, deliveryMode: persistent ? 2 : 1 });
      }
      const traced = collector.received.find((m) => m.messageId === stored[1]?.eventId)?.message;
      expect(traced?.properties.headers?.traceparent).toBe(traceparent);
      expect(traced?.properties.correlationId).toBe("c-1");
    } finally {
      await r.stop();
      await collector.close();
    }
  });

  it("wakes on NOTIFY instead of waiting for the poll", async () => {
    const collector = await createCollector(exchange);
    const r = await startRelay({ pollMs: 60_000 }).start();
    try {
      await Bun.sleep(300); // the relay is now asleep with a minute to go
      const started = Date.now();
      const [event] = (await store.appendToStream(`clock-${crypto.randomUUID()}`, [{ type: "Ticked", data: {} }])).events;
      await collector.until(() => collector.received.some((m) => m.messageId === event?.eventId), 5_000);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await r.stop();
      await collector.close();
    }
  });

  it("keeps every event and per-stream order with two relays on the same outbox", async () => {
    const collector = await createCollector(exchange);
    const a = await startRelay({ batchSize: 7 }).start();
    const b = await startRelay({ batchSize: 7 }).start();
    try {
      const streams = Array.from({ length: 6 }, () => `clock-${crypto.randomUUID()}`);
      const ids = await appendMany(streams, 40);
      await collector.until(() => new Set(collector.received.map((m) => m.messageId)).size >= ids.length, 30_000);
      await expectEachOnceInOrder(collector.received, ids, 40);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await collector.close();
    }
  });

  it("parks a stream whose events keep coming back unroutable while other streams flow, until released", async () => {
    const collector = await createCollector(exchange, "clock.#");
    const r = await startRelay({ maxAttempts: 3, backoff: { baseMs: 10, maxMs: 50 }, pollMs: 50 }).start();
    try {
      const poison = `orphan-${crypto.randomUUID()}`;
      await store.appendToStream(poison, [
        { type: "Lost", data: {} },
        { type: "Lost", data: {} },
      ]);
      const deadline = Date.now() + 10_000;
      while (!(await outboxStatus(db.sql)).parked.some((p) => p.streamId === poison)) {
        if (Date.now() > deadline) throw new Error("the poison stream was never parked");
        await Bun.sleep(50);
      }
      const parked = (await outboxStatus(db.sql)).parked.find((p) => p.streamId === poison);
      expect(parked).toMatchObject({ version: 1, attempts: 3, lastError: "unroutable: orphan.Lost" });
      // Other streams keep flowing past the parked one.
      const healthy = `clock-${crypto.randomUUID()}`;
      const [ok] = (await store.appendToStream(healthy, [{ type: "Ticked", data: {} }])).events;
      await collector.until(() => collector.received.some((m) => m.messageId === ok?.eventId), 5_000);
      // The parked stream's later event waits behind its head; after a binding and a release, both arrive in order.
      await collector.bind("orphan.#");
      expect(await releaseStream(db.sql, poison, notifyChannel)).toBe(1);
      await collector.until(() => collector.received.filter((m) => m.streamId === poison).length >= 2, 5_000);
      expect(collector.received.filter((m) => m.streamId === poison).map((m) => m.version)).toEqual([1, 2]);
    } finally {
      await r.stop();
      await collector.close();
    }
  });

  it("releases every parked stream at once for the operator, and leaves healthy rows alone", async () => {
    const parked = [`held-${crypto.randomUUID()}`, `held-${crypto.randomUUID()}`];
    const healthy = `held-${crypto.randomUUID()}`;
    for (const s of [...parked, healthy]) await store.appendToStream(s, [{ type: "Held", data: {} }]);
    await db.sql`update eventline_outbox set attempts = 3, parked_at = now(), last_error = 'x' where stream_id = any(${parked}::text[])`;
    expect(await releaseAllStreams(db.sql, notifyChannel)).toBe(2);
    const rows = await db.sql<{ attempts: number; parked: boolean }[]>`
      select attempts, parked_at is not null as parked from eventline_outbox where stream_id = any(${[...parked, healthy]}::text[])`;
    expect([...rows]).toEqual([0, 1, 2].map(() => ({ attempts: 0, parked: false })));
    await db.sql`delete from eventline_outbox where stream_id = any(${[...parked, healthy]}::text[])`;
  });

  it("keeps only the outbox indexes the relay and the release read, so an append maintains no other", async () => {
    const rows = await db.sql<{ indexname: string }[]>`
      select indexname from pg_indexes where schemaname = current_schema() and tablename = 'eventline_outbox' order by indexname`;
    expect(rows.map((r) => r.indexname)).toEqual([
      "eventline_outbox_parked",
      "eventline_outbox_pkey",
      "eventline_outbox_retrying",
    ]);
  });

  it("publishes again after the relay is killed between the broker's confirm and the row's deletion", async () => {
    const collector = await createCollector(exchange);
    const env = {
      ...process.env,
      DATABASE_SCHEMA: db.schema,
      EVENTS_EXCHANGE: exchange,
      NOTIFY_CHANNEL: notifyChannel,
      RELAY_METRICS_PORT: "0",
      LOG_LEVEL: "error",
    };
    const streamId = `clock-${crypto.randomUUID()}`;
    const [event] = (await store.appendToStream(streamId, [{ type: "Ticked", data: {} }])).events;
    const crashing = Bun.spawn([process.execPath, "examples/shop/main.ts", "relay"], {
      env: { ...env, EVENTLINE_FAULT: "relay-crash-after-confirm" },
      stdout: "ignore",
      stderr: "inherit",
    });
    expect(await crashing.exited).not.toBe(0);
    expect(crashing.signalCode).toBe("SIGKILL");
    await collector.until(() => collector.received.some((m) => m.messageId === event?.eventId));
    expect(await depth(streamId)).toBe(1);
    const healthy = Bun.spawn([process.execPath, "examples/shop/main.ts", "relay"], { env, stdout: "ignore", stderr: "inherit" });
    try {
      await collector.until(() => collector.received.filter((m) => m.messageId === event?.eventId).length === 2);
      const deadline = Date.now() + 5_000;
      while ((await depth(streamId)) > 0 && Date.now() < deadline) await Bun.sleep(50);
      expect(await depth(streamId)).toBe(0);
    } finally {
      healthy.kill("SIGTERM");
      expect(await healthy.exited).toBe(0);
      await collector.close();
    }
  });
});
