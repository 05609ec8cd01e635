import type { Sql } from "postgres";
import { connect } from "../../src/store/connect.ts";
import { migrate } from "../../src/store/migrate.ts";

export type TestDatabase = { sql: Sql; schema: string; url: string; drop: () => Promise<void> };

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set: the test preload should have started Postgres");
  return url;
}

/** A fresh, migrated schema of its own, so test files can run side by side without seeing each other. */
export async function createTestDatabase(options: { max?: number } = {}): Promise<TestDatabase> {
  const url = databaseUrl();
  const schema = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = connect(url, { max: 1 });
  await admin.unsafe(`create schema ${schema}`);
  await admin.end();
  const sql = connect(url, { max: options.max ?? 10, schema });
  await migrate(sql);
  return {
    sql,
    schema,
    url,
    drop: async () => {
      await sql.end({ timeout: 5 });
      const a = connect(url, { max: 1 });
      await a.unsafe(`drop schema ${schema} cascade`);
      await a.end();
    },
  };
}
