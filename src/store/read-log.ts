import type { Sql } from "postgres";
import { EventlineError } from "../core/errors.ts";
import { type ReadAllOptions, START } from "../core/event-store.ts";
import type { RecordedEvent } from "../core/messages.ts";
import { type EventRow, toRecorded } from "./event-row.ts";

/**
 * The next batch of the whole log after a checkpoint, as stored. Only rows written by transactions older
 * than every transaction still running are returned, in (transaction, position) order: a slow transaction
 * holds readers back instead of being skipped when it commits.
 */
export async function readLogRows(
  sql: Sql,
  opts: ReadAllOptions = {},
): Promise<{ events: RecordedEvent[]; checkpoint: { transactionId: string; position: number } }> {
  const after = opts.after ?? START;
  const rows = await sql<EventRow[]>`
    select * from eventline_events
    where (transaction_id, position) > (${after.transactionId}::xid8, ${after.position})
      ${opts.includeRecent ? sql`` : sql`and transaction_id < pg_snapshot_xmin(pg_current_snapshot())`}
      ${opts.throughPosition === undefined ? sql`` : sql`and position <= ${opts.throughPosition}`}
      ${categoryCondition(sql, opts)}
    order by transaction_id, position
    limit ${opts.batchSize ?? 500}`;
  const last = rows[rows.length - 1];
  if (!last && !opts.includeRecent) await assertTransactionIdsBehind(sql);
  const checkpoint = last ? { transactionId: String(last.transaction_id), position: last.position } : after;
  return { events: rows.map(toRecorded), checkpoint };
}

/** The highest global position written so far (0 for an empty store). */
export async function headPositionOf(sql: Sql): Promise<number> {
  const [row] = await sql<{ p: number | null }[]>`select max(position) as p from eventline_events`;
  return row?.p ?? 0;
}

/** The SQL of a read's category filter (see categoriesOf). */
function categoryCondition(sql: Sql, opts: ReadAllOptions) {
  if (!opts.categories) return sql``;
  if (!opts.categoryPrefixes?.length) return sql`and category = any(${opts.categories}::text[])`;
  const likes = opts.categoryPrefixes.map((p) => `${p.replace(/[\\%_]/g, "\\$&")}%`);
  return sql`and (category = any(${opts.categories}::text[]) or category like any(${likes}::text[]))`;
}

/**
 * A stored transaction id the database has not reached yet means the log was restored into another
 * cluster: the horizon would hide those events for ever and every reader would quietly read nothing.
 * Checked when a read comes back empty, with one probe at the top of the commit-order index.
 */
async function assertTransactionIdsBehind(sql: Sql): Promise<void> {
  const [ahead] = await sql<{ transaction_id: string }[]>`
    select transaction_id::text from eventline_events where transaction_id >= pg_snapshot_xmax(pg_current_snapshot()) limit 1`;
  if (ahead) {
    throw new EventlineError(
      "TRANSACTION_IDS_AHEAD",
      `events carry transaction id ${ahead.transaction_id}, which this database has not reached: the log was restored ` +
        "from another cluster, and no reader would see those events; run the restore step in docs/operations.md " +
        "(Restoring a dump into another cluster) before starting any process",
    );
  }
}
