import type { Sql, TransactionSql } from "postgres";
import { generateKeyBytes, type KeyStore } from "../core/personal-data.ts";

/**
 * Forgets a subject inside the caller's transaction: the key goes, a tombstone stays, so no key is ever
 * made for the subject again. Snapshots of its streams may hold its fields in clear: they go too.
 */
export async function forgetSubjectIn(tx: Sql | TransactionSql, subjectId: string): Promise<void> {
  await tx`insert into eventline_subject_keys (subject_id, key, forgotten_at) values (${subjectId}, null, now())
           on conflict (subject_id) do update set key = null, forgotten_at = coalesce(eventline_subject_keys.forgotten_at, now())`;
  await tx`delete from eventline_snapshots where stream_id in (select stream_id from eventline_events where subject_id = ${subjectId})`;
}

/** Subject keys in the `subject_keys` table; forgetting leaves a tombstone without a key. */
export function createPostgresKeyStore(sql: Sql): KeyStore {
  return {
    async obtain(subjectId) {
      // Insert-if-missing then read: two writers racing for a new subject end up with the same key.
      await sql`insert into eventline_subject_keys (subject_id, key) values (${subjectId}, ${Buffer.from(generateKeyBytes())})
                on conflict (subject_id) do nothing`;
      const [row] = await sql<
        { key: Uint8Array | null }[]
      >`select key from eventline_subject_keys where subject_id = ${subjectId}`;
      if (!row) throw new Error(`key for subject ${subjectId} vanished while being created`);
      return row.key ? new Uint8Array(row.key) : undefined;
    },
    async findMany(subjectIds) {
      const rows = await sql<{ subject_id: string; key: Uint8Array }[]>`
        select subject_id, key from eventline_subject_keys where subject_id = any(${subjectIds}::text[]) and key is not null`;
      return new Map(rows.map((r) => [r.subject_id, new Uint8Array(r.key)]));
    },
    async forget(subjectId) {
      await forgetSubjectIn(sql, subjectId);
    },
  };
}
