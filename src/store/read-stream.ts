import type { Sql } from "postgres";
import type { ReadStreamOptions } from "../core/event-store.ts";
import type { RecordedEvent } from "../core/messages.ts";
import { type EventRow, toRecorded } from "./event-row.ts";

/** One stream's stored events in version order, as stored (sealed fields still sealed). */
export async function readStreamRows(sql: Sql, streamId: string, opts: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
  // occurred_at keeps microseconds, envelopes and `until` milliseconds: "until T" takes in the whole
  // millisecond T, so the state as of the time an event reports includes that event.
  const rows = await sql<EventRow[]>`
    select * from eventline_events
    where stream_id = ${streamId}
      and version >= ${opts.fromVersion ?? 1}
      ${opts.toVersion !== undefined ? sql`and version <= ${opts.toVersion}` : sql``}
      ${opts.until ? sql`and occurred_at < ${opts.until}::timestamptz + interval '1 millisecond'` : sql``}
    order by version`;
  return rows.map(toRecorded);
}

/** The current version of a stream (0 when it does not exist). */
export async function streamVersionOf(sql: Sql, streamId: string): Promise<number> {
  const [row] = await sql<{ version: number }[]>`select version from eventline_stream_versions(array[${streamId}]::text[])`;
  return row?.version ?? 0;
}

/** The current versions of those of these streams that exist. */
export async function streamVersionsOf(sql: Sql, streamIds: string[]): Promise<Map<string, number>> {
  const rows = await sql<{ stream_id: string; version: number }[]>`
    select stream_id, version from eventline_stream_versions(${streamIds}::text[]) where version > 0`;
  return new Map(rows.map((r) => [r.stream_id, r.version]));
}
