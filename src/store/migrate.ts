import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Sql } from "postgres";
import { ConfigError } from "../core/errors.ts";
import { sha256Hex } from "../core/sha256.ts";

const defaultFolder = join(import.meta.dirname, "migrations");

export type Migration = { version: number; name: string; sql: string };

/** A migration's text as recorded: line endings do not count, so a clone made with CRLF ones records the same text. */
const checksumOf = (m: Migration) => sha256Hex(m.sql.replaceAll("\r\n", "\n"));

/** What to do with a database this eventline cannot migrate, said by both refusals. */
const MOVE_ITS_DATA = "move its data as docs/operations.md's 'Upgrading a database from before the baseline' says";

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
      version int primary key, name text not null, checksum text, applied_at timestamptz not null default now())`;
    // Only a table recorded before checksums lacks the column: no lock or ownership asked of the others.
    const [column] = await tx<{ found: boolean }[]>`
      select exists (select 1 from pg_attribute where attrelid = 'eventline_migrations'::regclass
                     and attname = 'checksum' and not attisdropped) as found`;
    if (!column?.found) await tx`alter table eventline_migrations add column checksum text`;
    const recorded = await tx<{ version: number; name: string; checksum: string | null }[]>`
      select version, name, checksum from eventline_migrations`;
    const known = new Set(migrations.map((m) => m.name));
    const foreign = recorded.filter((r) => !known.has(r.name));
    if (foreign.length > 0) {
      // A database made before the baseline (by 0.1.0's own migrations): its schema is not
      // this one, and no migration turns it into it; docs/operations.md says how to move its events over.
      throw new ConfigError([
        `the database records migrations this eventline does not have (${foreign.map((r) => r.name).join(", ")}): ` +
          `it was made by an eventline from before the baseline schema; ${MOVE_ITS_DATA}`,
      ]);
    }
    // A migration applied from another text (an earlier form of the unreleased baseline, recorded before
    // checksums or with another one) left a schema this code does not have; running on it would fail later.
    const checksums = new Map(await Promise.all(migrations.map(async (m) => [m.name, await checksumOf(m)] as const)));
    const changed = recorded.filter((r) => r.checksum !== checksums.get(r.name));
    if (changed.length > 0) {
      throw new ConfigError([
        `the database applied ${changed.map((r) => r.name).join(", ")} from another text than this eventline's: it was ` +
          `made by an earlier form of the baseline schema; ${MOVE_ITS_DATA}`,
      ]);
    }
    const done = new Set(recorded.map((r) => r.version));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`insert into eventline_migrations (version, name, checksum) values (${m.version}, ${m.name}, ${checksums.get(m.name) ?? null})`;
      applied.push(m.name);
    }
    return applied;
  });
}
