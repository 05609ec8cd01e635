import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Sql } from "postgres";

const defaultFolder = join(import.meta.dirname, "migrations");

export type Migration = { version: number; name: string; sql: string };

/** The numbered `NNN_name.sql` files of a folder, in order. */
export function listMigrations(folder = defaultFolder): Migration[] {
  return readdirSync(folder)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number.parseInt(f, 10), name: f, sql: readFileSync(join(folder, f), "utf8") }));
}

/**
 * Applies the migrations not yet recorded, each in the same transaction as its record. An advisory lock
 * (per schema) lets several processes start at once: the others wait and then find nothing to do.
 */
export async function migrate(sql: Sql, migrations: Migration[] = listMigrations()): Promise<string[]> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('eventline.migrations.' || current_schema()))`;
    await tx`create table if not exists eventline_migrations (
      version int primary key, name text not null, applied_at timestamptz not null default now())`;
    const done = new Set((await tx<{ version: number }[]>`select version from eventline_migrations`).map((r) => r.version));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`insert into eventline_migrations (version, name) values (${m.version}, ${m.name})`;
      applied.push(m.name);
    }
    return applied;
  });
}
