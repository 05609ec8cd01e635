import type { Sql, TransactionSql } from "postgres";
import { appendResult, type PreparedEvent, replayOf } from "../core/event-pipeline.ts";
import type { AppendOptions, AppendRequest, AppendResult } from "../core/event-store.ts";
import { ConcurrencyError, IdempotencyKeyTaken } from "../core/errors.ts";
import { streamCategory } from "../core/messages.ts";
import { type EventRow, toRecorded } from "./event-row.ts";
import { forgetSubjectIn } from "./postgres-key-store.ts";

/** A deadlock, or a unique index that another writer's commit just filled: running again settles it. */
export function isRetriableConflict(error: unknown): boolean {
  const { code, constraint_name: constraint } = error as { code?: string; constraint_name?: string };
  return (
    code === "40P01" ||
    constraint === "eventline_events_event_id_unique" ||
    constraint === "eventline_events_stream_version_unique"
  );
}

/**
 * The general write path: one transaction from TypeScript for what the packed batch cannot take (replays,
 * a stream named twice, names that cannot be packed) and for appends that record an idempotent answer or
 * forget a subject with their events. Retried on a deadlock or a just-filled unique index.
 */
export async function appendInTransaction(
  sql: Sql,
  channel: string,
  requests: AppendRequest[],
  prepared: PreparedEvent[][],
  options: AppendOptions,
): Promise<AppendResult[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      // Versions are read after the streams' locks are held, each in a statement with a snapshot of its own.
      return await sql.begin("isolation level read committed", (tx) => appendOnce(tx, channel, requests, prepared, options));
    } catch (error) {
      if (!isRetriableConflict(error) || attempt >= 5) throw error;
    }
  }
}

async function appendOnce(
  tx: TransactionSql,
  channel: string,
  requests: AppendRequest[],
  prepared: PreparedEvent[][],
  options: AppendOptions,
): Promise<AppendResult[]> {
  // Locked before the replay check too, so a duplicate of an append still running waits and replays it.
  await tx`select eventline_lock_streams(${requests.map((r) => r.streamId)}::text[])`;
  const allIds = prepared.flat().map((p) => p.eventId);
  const found = (
    await tx<EventRow[]>`select * from eventline_events where event_id = any(${allIds}::uuid[]) order by position`
  ).map(toRecorded);
  const replays = new Map<number, AppendResult>();
  for (const [i, r] of requests.entries()) {
    const ids = new Set((prepared[i] ?? []).map((p) => p.eventId));
    const replay = replayOf(
      { ...r, events: (prepared[i] ?? []).map((p) => ({ type: p.type, data: p.data, eventId: p.eventId })) },
      found.filter((e) => ids.has(e.eventId)),
    );
    if (replay) replays.set(i, replay);
  }
  const order = [...requests.keys()].filter((i) => !replays.has(i));
  const written = new Map<number, EventRow[]>();
  for (const i of order) written.set(i, await writeStream(tx, requests[i] as AppendRequest, prepared[i] ?? []));
  if (order.length > 0) await tx`select pg_notify(${channel}, '')`;
  const results = requests.map((r, i) => replays.get(i) ?? appendResult(r.streamId, (written.get(i) ?? []).map(toRecorded)));
  for (const subjectId of options.forgetSubjects ?? []) await forgetSubjectIn(tx, subjectId);
  const record = options.idempotency;
  if (record) {
    const answer = record.respond(results);
    const inserted = await tx`
      insert into eventline_idempotency_keys (key, fingerprint, status, body)
      values (${record.key}, ${record.fingerprint}, ${answer.status}, ${tx.json(answer.body as never)})
      on conflict (key) do nothing returning 1`;
    // Raising rolls back the events too: the key's first answer stands, this append never happened.
    if (inserted.length === 0) throw new IdempotencyKeyTaken(record.key);
  }
  return results;
}

/**
 * One stream's events and outbox rows, once its lock is held: the version read here includes every
 * earlier writer's commit, and the expected version is judged by the same SQL rule the packed batch uses.
 */
async function writeStream(tx: TransactionSql, request: AppendRequest, prepared: PreparedEvent[]): Promise<EventRow[]> {
  const [current] = await tx<{ version: number; holds: boolean }[]>`
    select version, eventline_expected_version_holds(${String(request.expectedVersion)}, version) as holds
    from eventline_stream_versions(array[${request.streamId}]::text[])`;
  const actual = current?.version ?? 0;
  if (!current?.holds) throw new ConcurrencyError(request.streamId, request.expectedVersion, actual);
  return tx<EventRow[]>`
    with input as (
      select * from unnest(
        ${prepared.map((p) => p.eventId)}::uuid[], ${prepared.map((p) => p.type)}::text[],
        ${prepared.map((p) => p.schemaVersion)}::int[], ${prepared.map((p) => p.dataJson)}::text[],
        ${prepared.map((p) => p.metadataJson)}::text[], ${prepared.map((p) => p.subjectId ?? null)}::text[]
      ) with ordinality as t(event_id, type, schema_version, data, metadata, subject_id, ord)
    ), inserted as (
      insert into eventline_events (event_id, stream_id, category, version, type, schema_version, data, metadata, subject_id)
      select event_id, ${request.streamId}, ${streamCategory(request.streamId)}, ${actual} + ord, type,
             schema_version, data::jsonb, metadata::jsonb, subject_id
      from input order by ord
      returning *
    ), queued as (
      insert into eventline_outbox (position, event_id, stream_id, version, stream_hash)
      select position, event_id, stream_id, version, hashtext(stream_id) from inserted
    )
    select * from inserted order by position`;
}
