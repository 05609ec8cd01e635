import type { Sql, TransactionSql } from "postgres";
import type { EventStore } from "../core/event-store.ts";
import type { RecordedEvent } from "../core/messages.ts";
import type { ConsumerDefinition } from "./consumer-definition.ts";

export type ApplyOutcome = { status: "applied" | "duplicate"; gapFilled: number };

/** The lock a consumer's appliers share and a rebuild's swap takes alone. */
export async function shareConsumerLock(tx: TransactionSql, consumer: string): Promise<void> {
  await tx`select pg_advisory_xact_lock_shared(hashtext('eventline.consumer.' || current_schema() || '.' || ${consumer}))`;
}

export async function takeConsumerLock(tx: TransactionSql, consumer: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtext('eventline.consumer.' || current_schema() || '.' || ${consumer}))`;
}

/** Runs the definition's handlers over events already known to be new, in order. */
export async function runHandlers(
  tx: TransactionSql,
  def: ConsumerDefinition,
  tables: Record<string, string>,
  events: RecordedEvent[],
): Promise<void> {
  if (events.length === 0) return;
  if (def.handleBatch) {
    await def.handleBatch({ tx, tables, events });
    return;
  }
  for (const event of events) await def.handlers[event.type]?.({ tx, tables, event });
}

/**
 * Applies events to the read model inside `tx`, recording them in the inbox (one statement for all), and
 * runs the handlers for those the inbox had not seen. Events must be in version order and contiguous with
 * what was applied; the caller moves the streams' versions.
 */
export async function applyInTransaction(
  tx: TransactionSql,
  def: ConsumerDefinition,
  tables: Record<string, string>,
  consumer: string,
  events: RecordedEvent[],
): Promise<number> {
  if (events.length === 0) return 0;
  const inserted = await tx<{ event_id: string }[]>`
    insert into inbox (consumer, event_id, stream_id, version, position)
    select ${consumer}, e, s, v, p
    from unnest(${events.map((e) => e.eventId)}::uuid[], ${events.map((e) => e.streamId)}::text[],
                ${events.map((e) => e.version)}::int8[], ${events.map((e) => e.position)}::int8[]) as t(e, s, v, p)
    on conflict do nothing returning event_id::text`;
  const fresh = new Set(inserted.map((r) => r.event_id));
  const applicable = events.filter((e) => fresh.has(e.eventId.toLowerCase()));
  await runHandlers(tx, def, tables, applicable);
  return applicable.length;
}

/**
 * Applies one delivered event exactly once and in stream order: the stream's row is locked, an event at
 * or below the applied version is a duplicate, and a jump past the next version is filled from the store
 * first. Broker order is never trusted blindly.
 *
 * The missing events are read outside the transaction: a transaction that holds the stream's lock must
 * never wait for a second pooled connection, or the other deliveries of that stream (each holding a
 * connection while it waits for the lock) can take the whole pool and nothing moves again.
 */
export async function applyEvent(
  deps: { sql: Sql; store: EventStore; def: ConsumerDefinition; tables: Record<string, string> },
  event: RecordedEvent,
): Promise<ApplyOutcome> {
  const { sql, store, def, tables } = deps;
  let fetched: RecordedEvent[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const result = await sql.begin(async (tx) => {
      await shareConsumerLock(tx, def.name);
      await tx`insert into consumer_streams (consumer, stream_id, version) values (${def.name}, ${event.streamId}, 0)
               on conflict do nothing`;
      const [row] = await tx<{ version: number }[]>`
        select version from consumer_streams where consumer = ${def.name} and stream_id = ${event.streamId} for update`;
      const last = row?.version ?? 0;
      if (event.version <= last) return { status: "duplicate" as const, gapFilled: 0 };
      const missing = fetched.filter((e) => e.version > last && e.version < event.version);
      if (missing.length !== event.version - last - 1) return { gapFrom: last + 1 };
      await applyInTransaction(tx, def, tables, def.name, [...missing, event]);
      await tx`update consumer_streams set version = ${event.version} where consumer = ${def.name} and stream_id = ${event.streamId}`;
      return { status: "applied" as const, gapFilled: missing.length };
    });
    if (!("gapFrom" in result) || result.gapFrom === undefined) return result as ApplyOutcome;
    const from = result.gapFrom;
    fetched = await store.readStream(event.streamId, { fromVersion: from, toVersion: event.version - 1 });
    if (fetched.length !== event.version - from) {
      throw new Error(`stream ${event.streamId} is missing versions ${from}..${event.version - 1} in the store`);
    }
  }
  throw new Error(`stream ${event.streamId} kept moving while its gap was being filled; will retry`);
}
