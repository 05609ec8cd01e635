import type { Sql } from "postgres";
import { generateKeyBytes, type KeyStore } from "../core/personal-data.ts";

/** Subject keys in the `subject_keys` table; forgetting deletes the row (and with it the data). */
export function createPostgresKeyStore(sql: Sql): KeyStore {
  return {
    async obtain(subjectId) {
      // Insert-if-missing then read: two writers racing for a new subject end up with the same key.
      await sql`insert into subject_keys (subject_id, key) values (${subjectId}, ${Buffer.from(generateKeyBytes())})
                on conflict (subject_id) do nothing`;
      const [row] = await sql<{ key: Uint8Array }[]>`select key from subject_keys where subject_id = ${subjectId}`;
      if (!row) throw new Error(`key for subject ${subjectId} vanished while being created`);
      return new Uint8Array(row.key);
    },
    async findMany(subjectIds) {
      const rows = await sql<{ subject_id: string; key: Uint8Array }[]>`
        select subject_id, key from subject_keys where subject_id = any(${subjectIds}::text[])`;
      return new Map(rows.map((r) => [r.subject_id, new Uint8Array(r.key)]));
    },
    async forget(subjectId) {
      await sql`delete from subject_keys where subject_id = ${subjectId}`;
    },
  };
}
