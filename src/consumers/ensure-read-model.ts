import type { Sql } from "postgres";
import type { ConsumerDefinition } from "./consumer-definition.ts";

/** Creates the consumer's tables when missing (DDL is idempotent: `create table if not exists`). */
export async function ensureReadModel(sql: Sql, def: ConsumerDefinition): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('eventline.read-model.' || current_schema() || '.' || ${def.name}))`;
    for (const [name, ddl] of Object.entries(def.tables)) {
      const [exists] = await tx`select to_regclass(${name}) as t`;
      if (!exists?.t) await tx.unsafe(ddl(name));
    }
    await tx`insert into eventline_consumer_checkpoints (consumer) values (${def.name}) on conflict do nothing`;
  });
}
