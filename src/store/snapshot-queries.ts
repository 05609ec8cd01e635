import type { Sql } from "postgres";
import type { Snapshot } from "../core/event-store.ts";

/** Keeps the newest snapshot per stream; one of another schema version is replaced whatever its version. */
export async function saveSnapshotRow(sql: Sql, s: Snapshot): Promise<void> {
  await sql`
    insert into eventline_snapshots (stream_id, version, schema_version, state)
    values (${s.streamId}, ${s.version}, ${s.schemaVersion}, ${sql.json(s.state as never)})
    on conflict (stream_id) do update
      set version = excluded.version, schema_version = excluded.schema_version, state = excluded.state,
          created_at = now()
      where eventline_snapshots.version <= excluded.version or eventline_snapshots.schema_version <> excluded.schema_version`;
}

export async function loadSnapshotRow(sql: Sql, streamId: string): Promise<Snapshot | undefined> {
  const [row] = await sql<{ version: number; schema_version: number; state: unknown }[]>`
    select version, schema_version, state from eventline_snapshots where stream_id = ${streamId}`;
  return row ? { streamId, version: row.version, schemaVersion: row.schema_version, state: row.state } : undefined;
}
