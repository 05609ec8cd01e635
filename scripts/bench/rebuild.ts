/** Section 5: read-model rebuild speed over a log written straight into the events table. */
import type { Sql } from "postgres";
import type { ConsumerDefinition } from "../../src/consumers/consumer-definition.ts";
import { rebuildReadModel } from "../../src/consumers/rebuild.ts";
import { connect } from "../../src/store/connect.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";

export type RebuildResult = { handler: string; events: number; seconds: number; perSecond: number };

const counts = (t: string) => `create table ${t} (stream_id text primary key, n bigint not null)`;

/** Counts events per stream, one upsert per event: what a read model with plain handlers costs. */
const perEvent: ConsumerDefinition = {
  name: "bench_rebuild_each",
  bindings: ["benchre.#"],
  tables: { bench_rebuild_each: counts },
  handlers: {
    Ticked: async ({ tx, tables, event }) => {
      const t = tx(tables.bench_rebuild_each as string);
      await tx`insert into ${t} (stream_id, n) values (${event.streamId}, 1) on conflict (stream_id) do update set n = ${t}.n + 1`;
    },
  },
};

/** The same read model with a set-based handler: one upsert per batch of events. */
const setBased: ConsumerDefinition = {
  name: "bench_rebuild_set",
  bindings: ["benchrs.#"],
  tables: { bench_rebuild_set: counts },
  handlers: {},
  handleBatch: async ({ tx, tables, events }) => {
    const t = tx(tables.bench_rebuild_set as string);
    await tx`
      insert into ${t} (stream_id, n)
      select s, count(*) from unnest(${events.map((e) => e.streamId)}::text[]) as u(s) group by s
      on conflict (stream_id) do update set n = ${t}.n + excluded.n`;
  },
};

async function writeLog(sql: Sql, category: string, events: number) {
  // Written in bulk: the rebuild, not the writing, is what is measured.
  for (let done = 0; done < events; done += 100_000) {
    const n = Math.min(100_000, events - done);
    await sql`
      insert into events (event_id, stream_id, category, version, type, data, metadata)
      select gen_random_uuid(), ${category} || '-' || (g % 1000), ${category}, g / 1000 + 1, 'Ticked', '{}'::jsonb,
             '{"correlationId":"bench","causationId":"bench"}'::jsonb
      from generate_series(${done}::int, ${done + n - 1}::int) g`;
  }
}

/** Rebuilds the set-based model over `events` and the per-event one over `perEventEvents`. */
export async function benchRebuild(url: string, events: number, perEventEvents: number): Promise<RebuildResult[]> {
  const sql = connect(url, { max: 4 });
  const store = createPostgresEventStore({ sql });
  const results: RebuildResult[] = [];
  for (const [def, category, n, handler] of [
    [setBased, "benchrs", events, "set-based (handleBatch)"],
    [perEvent, "benchre", perEventEvents, "one upsert per event"],
  ] as const) {
    await writeLog(sql, category, n);
    await sql`vacuum analyze events`;
    const started = performance.now();
    const result = await rebuildReadModel({ sql, store, def, batchSize: 5000 });
    const seconds = (performance.now() - started) / 1000;
    results.push({ handler, events: result.applied, seconds, perSecond: result.applied / seconds });
  }
  await sql.end();
  return results;
}
