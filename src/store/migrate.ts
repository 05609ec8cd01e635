import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Sql } from "postgres";
import { ConfigError } from "../core/errors.ts";

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
    const recorded = await tx<{ version: number; name: string }[]>`select version, name from eventline_migrations`;
    const known = new Set(migrations.map((m) => m.name));
    const foreign = recorded.filter((r) => !known.has(r.name));
    if (foreign.length > 0) {
      // A database made before the baseline (by 0.1.0's own migrations): its schema is not
      // this one, and no migration turns it into it; docs/operations.md says how to move its events over.
      throw new ConfigError([
        `the database records migrations this eventline does not have (${foreign.map((r) => r.name).join(", ")}): ` +
          "it was made by an eventline from before the baseline schema; move its data as docs/operations.md's " +
          "'Upgrading a database from before the baseline' says",
      ]);
    }
    // The baseline's first form kept stream versions in a table of their own; no migration turns it into
    // this one, which takes them from the events.
    const [earlier] = await tx<{ found: boolean }[]>`select to_regclass('eventline_streams') is not null as found`;
    if (recorded.length > 0 && earlier?.found) {
      throw new ConfigError([
        "the database was made by an earlier form of the baseline schema (it has eventline_streams): move its " +
          "data as docs/operations.md's 'Upgrading a database from before the baseline' says",
      ]);
    }
    const done = new Set(recorded.map((r) => r.version));
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
