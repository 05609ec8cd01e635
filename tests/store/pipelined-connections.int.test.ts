import { afterEach, describe, expect, it } from "bun:test";
import type { Sql } from "postgres";
import { connect } from "../../src/store/connect.ts";
import { createPipelinedConnections } from "../../src/store/pipelined-connections.ts";
import { databaseUrl } from "../support/pg.ts";

const pools: Sql[] = [];
const pool = (max: number) => {
  const sql = connect(databaseUrl(), { max, applicationName: `pipelined-${crypto.randomUUID().slice(0, 8)}` });
  pools.push(sql);
  return sql;
};
afterEach(async () => {
  await Promise.all(pools.splice(0).map((sql) => sql.end({ timeout: 5 })));
});

/** Whether `select 1` on `sql` answers within `ms`: a connection kept reserved would leave it waiting. */
const answers = (sql: Sql, ms: number) => Promise.race([sql`select 1`.then(() => true), Bun.sleep(ms).then(() => false)]);

describe("statements pipelined on reserved connections", () => {
  it("sends eight statements at once down two connections, each connection answering its share in order", async () => {
    const sql = pool(10);
    const pipelined = createPipelinedConnections(sql, 2);
    const started = performance.now();
    const answered = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        pipelined.run(async (c) => {
          const [row] = await c<{ pid: number }[]>`select pg_backend_pid() as pid, pg_sleep(0.1)`;
          return { i, pid: row?.pid as number, at: performance.now() - started };
        }),
      ),
    );
    const pids = new Set(answered.map((a) => a.pid));
    expect(pids.size).toBe(2);
    // Four 100 ms statements one after another on each connection: all sent at once, none waited for a
    // free connection of the pool's other eight.
    expect(Math.max(...answered.map((a) => a.at))).toBeGreaterThanOrEqual(390);
    expect(Math.max(...answered.map((a) => a.at))).toBeLessThan(1_500);
  });

  it("hands its connections back once nothing is in flight, so a pool of one still answers others", async () => {
    const sql = pool(1);
    const pipelined = createPipelinedConnections(sql, 1);
    await Promise.all(Array.from({ length: 4 }, () => pipelined.run((c) => c`select 1`)));
    expect(await answers(sql, 2_000)).toBe(true);
  });

  it("keeps using a connection after an error Postgres sent on it", async () => {
    const sql = pool(1);
    const pipelined = createPipelinedConnections(sql, 1);
    const [failed, after] = await Promise.allSettled([
      pipelined.run((c) => c`select 1 / 0`),
      pipelined.run((c) => c<{ one: number }[]>`select 1 as one`),
    ]);
    expect(failed.status).toBe("rejected");
    expect(after.status === "fulfilled" && after.value[0]?.one).toBe(1);
    expect(await answers(sql, 2_000)).toBe(true);
    const [again] = await pipelined.run((c) => c<{ one: number }[]>`select 1 as one`);
    expect(again?.one).toBe(1);
  });

  it("fails only the statements of a connection that was lost, and later statements get a working one", async () => {
    const sql = pool(2);
    const admin = pool(1);
    const pipelined = createPipelinedConnections(sql, 2);
    const pids: number[] = [];
    const inFlight = Array.from({ length: 4 }, (_, i) =>
      pipelined.run(async (c) => {
        const [row] = await c<{ pid: number }[]>`select pg_backend_pid() as pid`;
        pids[i] = row?.pid as number;
        await c`select pg_sleep(0.5)`;
        return row?.pid as number;
      }),
    );
    while (new Set(pids.filter((p) => p !== undefined)).size < 2) await Bun.sleep(10);
    const lost = pids.find((p) => p !== undefined) as number;
    await admin`select pg_terminate_backend(${lost})`;
    const settled = await Promise.allSettled(inFlight);
    const ofLost = settled.filter((_, i) => pids[i] === lost);
    expect(ofLost.length).toBeGreaterThan(0);
    expect(ofLost.every((s) => s.status === "rejected")).toBe(true);
    expect(settled.filter((s) => s.status === "fulfilled").length).toBeGreaterThan(0);
    const later = await Promise.all(Array.from({ length: 4 }, () => pipelined.run((c) => c<{ one: number }[]>`select 1 as one`)));
    expect(later.map((r) => r[0]?.one)).toEqual([1, 1, 1, 1]);
    expect(await answers(sql, 2_000)).toBe(true);
  });
});
