import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import type { EventStore } from "../../src/core/event-store.ts";
import { hasApplied } from "../../src/consumers/catch-up.ts";
import type { ConsumerDefinition } from "../../src/consumers/consumer-definition.ts";
import { createConsumer } from "../../src/consumers/consumer-runtime.ts";
import { type RebuildProgress, rebuildReadModel } from "../../src/consumers/rebuild.ts";
import { createLogger } from "../../src/log.ts";
import { createRelay } from "../../src/outbox/relay.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { tallyConsumer } from "../support/tally-consumer.ts";

const quiet = createLogger({ role: "test" }, "error");
const exchange = `test.rebuild.${crypto.randomUUID().slice(0, 8)}`;
const notifyChannel = `rebuild_${crypto.randomUUID().slice(0, 8)}`;
let db: TestDatabase;
let store: EventStore;

beforeAll(async () => {
  db = await createTestDatabase({ max: 20 });
  store = createPostgresEventStore({ sql: db.sql, notifyChannel });
});
afterAll(async () => db.drop());

async function rows(def: ConsumerDefinition) {
  return db.sql<{ stream_id: string; total: number; events: number }[]>`
    select stream_id, total, events from ${db.sql(def.name)} order by stream_id`;
}

describe("a read-model rebuild", () => {
  it("ends equal to the live model while commands keep arriving, and queries never fail during it", async () => {
    const broker = connectBroker(amqpUrl(), quiet, "test-rebuild");
    const relay = createRelay({
      sql: db.sql,
      broker,
      log: quiet,
      exchange,
      notifyChannel,
      partitions: 4,
      batchSize: 200,
      maxAttempts: 5,
      pollMs: 100,
    });
    const rebuilt = tallyConsumer();
    const twin = tallyConsumer();
    const make = (def: ConsumerDefinition) =>
      createConsumer({ def, sql: db.sql, store, broker, exchange, log: quiet, sweep: { everyMs: 200, graceMs: 2_000 } });
    const consumers = [make(rebuilt), make(twin)];
    await relay.start();
    for (const c of consumers) await c.start();
    const streams = Array.from({ length: 10 }, () => `tick-${crypto.randomUUID()}`);
    let lastPosition = 0;
    const append = async (i: number) => {
      const r = await store.appendToStream(streams[i % streams.length] as string, [{ type: "Ticked", data: { n: (i % 5) + 1 } }]);
      lastPosition = Math.max(lastPosition, r.position);
    };
    try {
      for (let i = 0; i < 600; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => append(i + k)));

      let loading = true;
      // Bounded load: at most 2,000 more appends, ending as soon as the rebuild is done.
      const load = (async () => {
        for (let i = 600; loading && i < 2_600; i++) {
          await append(i);
          await Bun.sleep(2);
        }
      })();
      let queries = 0;
      const queryErrors: unknown[] = [];
      const reader = (async () => {
        while (loading) {
          await db.sql`select count(*), sum(total) from ${db.sql(rebuilt.name)}`.then(
            () => queries++,
            (e) => queryErrors.push(e),
          );
          await Bun.sleep(1);
        }
      })();
      const progress: RebuildProgress[] = [];
      const result = await rebuildReadModel({
        sql: db.sql,
        store,
        def: rebuilt,
        batchSize: 100,
        onProgress: (p) => progress.push(p),
      });
      loading = false;
      await Promise.all([load, reader]);

      const deps = (def: ConsumerDefinition) => ({ sql: db.sql, store, def, tables: { [def.name]: def.name } });
      const deadline = Date.now() + 30_000;
      while (!((await hasApplied(deps(rebuilt), lastPosition)) && (await hasApplied(deps(twin), lastPosition)))) {
        if (Date.now() > deadline) throw new Error("consumers did not catch up");
        await Bun.sleep(50);
      }
      expect(queryErrors).toEqual([]);
      expect(queries).toBeGreaterThan(10);
      expect(result.applied).toBeGreaterThanOrEqual(600);
      expect(progress.at(-1)?.percent).toBe(100);
      expect(progress.every((p) => p.eventsPerSecond > 0)).toBe(true);
      const live = await rows(twin);
      expect(live.length).toBe(10);
      expect(await rows(rebuilt)).toEqual(live);
    } finally {
      for (const c of consumers) await c.stop();
      await relay.stop();
      await broker.close();
      await deleteBrokerObjects(amqpUrl(), { consumers: [rebuilt.name, twin.name], exchanges: [exchange] });
    }
  }, 120_000);

  it("hands a set-based handler whole batches, and ends with the rows handling one by one gives", async () => {
    const oneByOne = tallyConsumer();
    const batchSizes: number[] = [];
    const setBased: ConsumerDefinition = {
      ...tallyConsumer(),
      handleBatch: async ({ tx, tables, events }) => {
        batchSizes.push(events.length);
        const table = tx(Object.values(tables)[0] as string);
        await tx`
          insert into ${table} (stream_id, total, events, last_version)
          select s, sum(n), count(*), max(v)
          from unnest(${events.map((e) => e.streamId)}::text[], ${events.map((e) => (e.data as { n: number }).n)}::int[],
                      ${events.map((e) => e.version)}::int[]) as t(s, n, v)
          group by s
          on conflict (stream_id) do update set total = ${table}.total + excluded.total,
            events = ${table}.events + excluded.events, last_version = excluded.last_version`;
      },
    };
    const streams = Array.from({ length: 7 }, () => `tick-${crypto.randomUUID()}`);
    for (let i = 0; i < 300; i += 30) {
      await Promise.all(
        Array.from({ length: 30 }, (_, k) =>
          store.appendToStream(streams[(i + k) % streams.length] as string, [{ type: "Ticked", data: { n: ((i + k) % 5) + 1 } }]),
        ),
      );
    }
    await rebuildReadModel({ sql: db.sql, store, def: oneByOne, batchSize: 100 });
    const result = await rebuildReadModel({ sql: db.sql, store, def: setBased, batchSize: 100 });
    expect(result.applied).toBeGreaterThanOrEqual(300);
    expect(Math.max(...batchSizes)).toBeGreaterThan(1);
    const mine = (rs: { stream_id: string }[]) => rs.filter((r) => streams.includes(r.stream_id));
    expect(mine(await rows(setBased))).toEqual(mine(await rows(oneByOne)));
    expect((await rows(oneByOne)).filter((r) => streams.includes(r.stream_id)).reduce((n, r) => n + r.events, 0)).toBe(300);
  });
});
