import type { Sql } from "postgres";
import type { PaymentGateway } from "../domain/payments.ts";

/**
 * Rewrites what was stored before card tokens were tokenised at the edge: every OrderPlaced that still
 * holds `paymentToken` (schema version 1) and every checkout whose data does. Each token is exchanged at
 * the provider for a reference, so a checkout still running can charge it; the row then holds the
 * reference and the last four characters, at schema version 2. Events are otherwise immutable: this is
 * the one rewrite, for a secret that should never have been stored. Running it again changes nothing.
 * Copies outside Postgres (dead letters published before) are the operator's to purge (docs/security.md).
 */
export async function redactPaymentTokens(
  db: { sql: Sql; readSql: Sql },
  gateway: PaymentGateway,
): Promise<{ events: number; sagas: number }> {
  const { sql, readSql } = db;
  const references = new Map<string, { reference: string; last4: string }>();
  const paymentFor = async (token: string) => {
    let known = references.get(token);
    if (!known) {
      known = await gateway.tokenise(token);
      references.set(token, known);
    }
    return known;
  };
  let events = 0;
  for (const row of await sql<{ position: string; token: string }[]>`
    select position::text, data->>'paymentToken' as token from eventline_events
    where type = 'OrderPlaced' and data ? 'paymentToken'`) {
    const payment = await paymentFor(row.token);
    const updated = await sql`
      update eventline_events
      set data = (data - 'paymentToken') || jsonb_build_object('payment', ${sql.json(payment)}::jsonb), schema_version = 2
      where position = ${row.position} and data ? 'paymentToken'`;
    events += updated.count;
  }
  let sagas = 0;
  for (const row of await readSql<{ saga_id: string; token: string }[]>`
    select saga_id, data->>'paymentToken' as token from eventline_saga_instances
    where saga_type = 'checkout' and data ? 'paymentToken'`) {
    const payment = await paymentFor(row.token);
    const updated = await readSql`
      update eventline_saga_instances
      set data = (data - 'paymentToken') || jsonb_build_object('payment', ${sql.json(payment)}::jsonb)
      where saga_id = ${row.saga_id} and data ? 'paymentToken'`;
    sagas += updated.count;
  }
  return { events, sagas };
}
