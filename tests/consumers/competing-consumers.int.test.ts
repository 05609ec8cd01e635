import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import type { ConsumerDefinition } from "../../src/consumers/consumer-definition.ts";
import { createConsumer } from "../../src/consumers/consumer-runtime.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import { createLogger } from "../../src/log.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { ensureCluster } from "../../scripts/infra-env.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { waitFor } from "../support/wait-for.ts";
import { createPublisher } from "../support/tally-consumer.ts";

const quiet = createLogger({ role: "test" }, "error");
let db: TestDatabase;
let nodes: string[];

beforeAll(async () => {
  nodes = await ensureCluster(3);
  db = await createTestDatabase({ max: 20 });
});
afterAll(async () => db.drop());

/**
 * A read model that writes down every event it applies, and which instance applied it, in the order its
 * statements ran (the identity column).
 */
function applyLog(name: string, instance: number): ConsumerDefinition {
  return {
    name,
    bindings: ["race.#"],
    tables: {
      [name]: (t) =>
        `create table ${t} (seq bigint generated always as identity primary key, stream_id text not null, version int not null, instance int not null)`,
    },
    handlers: {
      Raced: async ({ tx, tables, event }) => {
        // A handler that takes a moment, so that applies of one stream by two instances would overlap.
        await tx`select pg_sleep(random() * 0.002)`;
        await tx`insert into ${tx(tables[name] as string)} (stream_id, version, instance) values (${event.streamId}, ${event.version}, ${instance})`;
      },
    },
  };
}

describe("four instances of one consumer on one quorum queue of the cluster", () => {
  it("apply every event once, each stream in version order, and all four take a share", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const name = `race_${tag}`;
    const exchange = `test.race.${tag}`;
    const store = createPostgresEventStore({ sql: db.sql });
    // Few streams, so a stream's next version is usually in another instance's hands at the same time.
    const streams = 6;
    const versions = 60;
    const instances = [1, 2, 3, 4].map((instance) => {
      // Each instance starts on another node, as separate processes told the nodes in another order would.
      const turn = instance % nodes.length;
      const broker = connectBroker([...nodes.slice(turn), ...nodes.slice(0, turn)], quiet, `test-race-${instance}`);
      const consumer = createConsumer({
        def: applyLog(name, instance),
        sql: db.sql,
        store,
        broker,
        exchange,
        log: quiet,
        prefetch: 4,
        queueType: "quorum",
        queuePrefix: `test.${tag}`,
        // The broker's deliveries do the work here, not the sweep.
        sweep: { everyMs: 1_000, graceMs: 600_000 },
      });
      return { broker, consumer };
    });
    const publisher = await createPublisher(exchange, nodes[0]);
    try {
      // Started before the events exist, so no instance's catch-up from the store takes them all.
      for (const i of instances) await i.consumer.start();
      const events: RecordedEvent[] = [];
      for (let s = 0; s < streams; s++) {
        const r = await store.appendToStream(
          `race-${tag}${s}`,
          Array.from({ length: versions }, (_, v) => ({ type: "Raced", data: { v } })),
        );
        events.push(...r.events);
      }
      await db.sql`delete from eventline_outbox`;
      // Version 1 of every stream, then version 2 of every stream, ...: the instances race on each stream.
      const interleaved = [...events].sort((a, b) => a.version - b.version || a.streamId.localeCompare(b.streamId));
      await publisher.publish(...interleaved);
      await waitFor(
        "every event applied",
        async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from ${db.sql(name)}`)[0]?.n ?? 0,
        (n) => n >= events.length,
        60_000,
      );
      await Bun.sleep(300);
      const log = await db.sql<{ stream_id: string; version: number; instance: number }[]>`
        select stream_id, version, instance from ${db.sql(name)} order by seq`;
      expect(log).toHaveLength(events.length);
      const byStream = new Map<string, number[]>();
      for (const r of log) byStream.set(r.stream_id, [...(byStream.get(r.stream_id) ?? []), r.version]);
      const inOrder = Array.from({ length: versions }, (_, v) => v + 1);
      expect([...byStream.values()].filter((v) => JSON.stringify(v) !== JSON.stringify(inOrder))).toEqual([]);
      expect(byStream.size).toBe(streams);
      const shares = [1, 2, 3, 4].map((i) => log.filter((r) => r.instance === i).length);
      console.log(`competing consumers: applies per instance ${shares.join(", ")}`);
      expect(shares.every((n) => n > 0)).toBe(true);
    } finally {
      for (const i of instances) {
        await i.consumer.stop();
        await i.broker.close();
      }
      await publisher.close();
      await deleteBrokerObjects(nodes, { consumers: [name], prefix: `test.${tag}`, exchanges: [exchange] });
    }
  }, 120_000);
});
