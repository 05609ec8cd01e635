/** Section 5: read-model rebuild speed over a log written straight into the events table. */
import type { Sql } from "postgres";
import { rebuildReadModel } from "../../src/consumers/rebuild.ts";
import { connect } from "../../src/store/connect.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { streamCounter } from "./stream-counter.ts";

export type RebuildResult = { handler: string; events: number; seconds: number; perSecond: number };

async function writeLog(sql: Sql, category: string, events: number) {
  // Written in bulk: the rebuild, not the writing, is what is measured.
  for (let done = 0; done < events; done += 100_000) {
    const n = Math.min(100_000, events - done);
    await sql`
      insert into eventline_events (event_id, stream_id, category, version, type, data, metadata)
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
  for (const [category, n, handler] of [
    ["benchrs", events, "set-based (handleBatch)"],
    ["benchre", perEventEvents, "one upsert per event"],
  ] as const) {
    const def = streamCounter(`bench_rebuild_${category}`, category, handler);
    await writeLog(sql, category, n);
    await sql`vacuum analyze eventline_events`;
    const started = performance.now();
    const result = await rebuildReadModel({ sql, store, def, batchSize: 5000 });
    const seconds = (performance.now() - started) / 1000;
    results.push({ handler, events: result.applied, seconds, perSecond: result.applied / seconds });
  }
  await sql.end();
  return results;
}
