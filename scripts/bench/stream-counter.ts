/** The benchmarks' read model: events counted per stream, with per-event handlers or a set-based one. */
import type { ConsumerDefinition } from "../../src/consumers/consumer-definition.ts";

export type CounterStyle = "set-based (handleBatch)" | "one upsert per event";

/** A consumer `name` with one table of the same name, binding `<category>.#`. */
export function streamCounter(name: string, category: string, style: CounterStyle): ConsumerDefinition {
  const def: ConsumerDefinition = {
    name,
    bindings: [`${category}.#`],
    tables: { [name]: (t) => `create table ${t} (stream_id text primary key, n bigint not null)` },
    handlers: {
      Ticked: async ({ tx, tables, event }) => {
        const t = tx(tables[name] as string);
        await tx`insert into ${t} (stream_id, n) values (${event.streamId}, 1) on conflict (stream_id) do update set n = ${t}.n + 1`;
      },
    },
  };
  if (style === "one upsert per event") return def;
  return {
    ...def,
    handleBatch: async ({ tx, tables, events }) => {
      const t = tx(tables[name] as string);
      await tx`
        insert into ${t} (stream_id, n)
        select s, count(*) from unnest(${events.map((e) => e.streamId)}::text[]) as u(s) group by s
        on conflict (stream_id) do update set n = ${t}.n + excluded.n`;
    },
  };
}
