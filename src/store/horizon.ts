import type { Sql } from "postgres";
import { EventlineError } from "../core/errors.ts";

export type OldestTransaction = { ageSeconds: number; pid?: number; applicationName?: string };

/**
 * The oldest transaction in the cluster that has a transaction id: it holds the gap-safe horizon back, so
 * no reader of the whole log (consumers' sweeps, rebuilds, catch-up) moves past its start until it ends.
 * Prepared transactions count too.
 */
export async function oldestTransaction(sql: Sql): Promise<OldestTransaction> {
  const [row] = await sql<{ age: number | null; pid: number | null; app: string | null }[]>`
    select extract(epoch from now() - started)::float8 as age, pid, app
    from (
      select xact_start as started, pid, application_name as app from pg_stat_activity where backend_xid is not null
      union all
      select prepared, null, 'prepared transaction ' || gid from pg_prepared_xacts
    ) as running
    order by started limit 1`;
  if (!row || row.age === null) return { ageSeconds: 0 };
  return { ageSeconds: Math.max(0, row.age), pid: row.pid ?? undefined, applicationName: row.app ?? undefined };
}

/** Fails (HORIZON_HELD) when a transaction has held the horizon back for longer than `maxSeconds`. */
export async function assertHorizonMoving(sql: Sql, maxSeconds: number): Promise<void> {
  const oldest = await oldestTransaction(sql);
  if (oldest.ageSeconds <= maxSeconds) return;
  throw new EventlineError(
    "HORIZON_HELD",
    `a transaction (pid ${oldest.pid ?? "?"}, ${oldest.applicationName || "no application name"}) has been open for ` +
      `${Math.round(oldest.ageSeconds)} s, holding every reader of the event log back`,
    { ...oldest },
  );
}
