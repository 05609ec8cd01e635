import type { Sql } from "postgres";

/**
 * Deletes inbox rows older than the retention window, in batches so no long lock is held. A duplicate
 * that arrives after its row is gone is still recognised by the stream's applied version.
 */
export async function pruneInbox(
  sql: Sql,
  options: { olderThanMs: number; batchSize?: number; maxBatches?: number },
): Promise<number> {
  const batchSize = options.batchSize ?? 5_000;
  let total = 0;
  for (let i = 0; i < (options.maxBatches ?? 1_000); i++) {
    const deleted = await sql`
      delete from eventline_inbox where ctid = any(array(
        select ctid from eventline_inbox where applied_at < now() - make_interval(secs => ${options.olderThanMs / 1000}::float8) limit ${batchSize}))`;
    total += deleted.count;
    if (deleted.count < batchSize) break;
  }
  return total;
}
