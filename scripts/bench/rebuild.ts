/** Section 5: read-model rebuild speed over a log written straight into the events table. */
import type { ConsumerDefinition } from "../../src/consumers/consumer-definition.ts";
import { rebuildReadModel } from "../../src/consumers/rebuild.ts";
import { connect } from "../../src/store/connect.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";

export type RebuildResult = { events: number; seconds: number; perSecond: number };

const def: ConsumerDefinition = {
  name: "bench_rebuild",
  bindings: ["benchrb.#"],
  tables: { bench_rebuild: (t) => `create table ${t} (stream_id text primary key, n bigint not null)` },
  handlers: {
    Ticked: async ({ tx, tables, event }) => {
      await tx`insert into ${tx(tables.bench_rebuild as string)} (stream_id, n) values (${event.streamId}, 1)
               on conflict (stream_id) do update set n = ${tx(tables.bench_rebuild as string)}.n + 1`;
    },
  },
};

export async function benchRebuild(url: string, events: number): Promise<RebuildResult> {
  const sql = connect(url, { max: 4 });
  const store = createPostgresEventStore({ sql });
  // The log is written in bulk: the rebuild, not the writing, is what is measured.
  for (let done = 0; done < events; done += 100_000) {
    const n = Math.min(100_000, events - done);
    await sql`
      insert into events (event_id, stream_id, category, version, type, data, metadata)
      select gen_random_uuid(), 'benchrb-' || (g % 1000), 'benchrb', g / 1000 + 1, 'Ticked', '{}'::jsonb,
             '{"correlationId":"bench","causationId":"bench"}'::jsonb
      from generate_series(${done}::int, ${done + n - 1}::int) g`;
  }
  await sql`create table if not exists bench_rebuild (stream_id text primary key, n bigint not null)`;
  const started = performance.now();
  const result = await rebuildReadModel({ sql, store, def, batchSize: 2000 });
  const seconds = (performance.now() - started) / 1000;
  await sql.end();
  return { events: result.applied, seconds, perSecond: result.applied / seconds };
}
