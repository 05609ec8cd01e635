/** Section 1: appends/s and latency at concurrency 1, 16 and 256 — eventline, Emmett and one SQL statement. */
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { connect } from "../../src/store/connect.ts";
import { type Measured, runAlternatingFor } from "./measure.ts";

export type AppendRow = { path: string; concurrency: number } & Measured;

const event = (i: number) => ({ type: "BenchEvent", data: { i, note: "one event per command, plus its outbox row" } });

/** Each contender, at each concurrency, runs `secondsPerRound` in each of `rounds` alternating rounds. */
export async function benchAppends(
  url: string,
  secondsPerRound: number,
  concurrencies: number[] = [1, 16, 256],
  rounds = 2,
): Promise<AppendRow[]> {
  const rows: AppendRow[] = [];
  const sql = connect(url, { max: 32 });
  const store = createPostgresEventStore({ sql, notifyChannel: "bench_outbox" });
  const baseline = connect(url, { max: 64 });
  await baseline`create table if not exists bench_events (position bigserial primary key, stream_id text not null, version int not null, type text not null, data jsonb not null, unique (stream_id, version))`;
  await baseline`create table if not exists bench_outbox (position bigint primary key)`;
  const emmett = getPostgreSQLEventStore(url);
  // Emmett creates its schema on first use; do that outside the measurement.
  await emmett.appendToStream(`warmup-${crypto.randomUUID()}`, [event(0)]);
  const run = crypto.randomUUID().slice(0, 8);

  const paths: [string, (c: number) => (i: number) => Promise<unknown>][] = [
    [
      "eventline appendToStream (group commit)",
      (c) => (i) => store.appendToStream(`bench-${run}-${c}-${i}`, [event(i)], { expectedVersion: "no_stream" }),
    ],
    ["emmett-postgresql 0.42 appendToStream", (c) => (i) => emmett.appendToStream(`emmett-${run}-${c}-${i}`, [event(i)])],
    [
      "one SQL statement (event + outbox CTE)",
      (c) => (i) =>
        baseline`
          with e as (insert into bench_events (stream_id, version, type, data) values (${`sql-${run}-${c}-${i}`}, 1, 'BenchEvent', ${baseline.json(event(i).data)}) returning position)
          insert into bench_outbox select position from e`,
    ],
  ];
  for (const c of concurrencies) {
    const measured = await runAlternatingFor(
      paths.map(([, op]) => op(c)),
      c,
      secondsPerRound,
      rounds,
    );
    for (const [k, [path]] of paths.entries()) rows.push({ path, concurrency: c, ...(measured[k] as Measured) });
  }
  await emmett.close();
  await sql.end();
  await baseline.end();
  return rows;
}
