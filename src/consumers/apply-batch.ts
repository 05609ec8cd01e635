import type { Sql } from "postgres";
import type { RecordedEvent } from "../core/messages.ts";
import { applyInTransaction, lockStreams } from "./apply-event.ts";
import type { ConsumerDefinition } from "./consumer-definition.ts";

/**
 * What became of each event of a batch: applied, a duplicate, or `single` when it does not follow its
 * stream's applied version (a gap to fill from the store) and must go through `applyEvent` on its own.
 */
export type BatchOutcome = "applied" | "duplicate" | "single";

/**
 * Applies many delivered events in one transaction: one statement locks every stream they touch (in
 * stream-id order, so two batches never deadlock), one records them in the inbox and moves the streams'
 * versions, then the handlers run (one call when the definition has `handleBatch`). A handler error rolls the
 * whole batch back and throws; the caller then applies the events one by one, each with its own retries.
 */
export async function applyEventBatch(
  deps: { sql: Sql; def: ConsumerDefinition; tables: Record<string, string> },
  events: RecordedEvent[],
): Promise<BatchOutcome[]> {
  const { sql, def, tables } = deps;
  const streams = events.map((e) => e.streamId);
  return sql.begin(async (tx) => {
    const applied = await lockStreams(tx, def.name, streams);
    const outcomes = new Map<RecordedEvent, BatchOutcome>();
    const next: RecordedEvent[] = [];
    // Each stream's events in version order: a duplicate is at or below the applied version, the next
    // version applies, anything after a missing version waits for the single path.
    const byVersion = [...events].sort((a, b) =>
      a.streamId === b.streamId ? a.version - b.version : a.streamId < b.streamId ? -1 : 1,
    );
    const blocked = new Set<string>();
    for (const e of byVersion) {
      const last = applied.get(e.streamId) ?? 0;
      if (e.version <= last) outcomes.set(e, "duplicate");
      else if (e.version === last + 1 && !blocked.has(e.streamId)) {
        outcomes.set(e, "applied");
        applied.set(e.streamId, e.version);
        next.push(e);
      } else {
        outcomes.set(e, "single");
        blocked.add(e.streamId);
      }
    }
    next.sort((a, b) => a.position - b.position);
    await applyInTransaction(tx, def, tables, def.name, next);
    return events.map((e) => outcomes.get(e) as BatchOutcome);
  });
}
