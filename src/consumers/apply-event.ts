import type { PendingQuery, Row, Sql, TransactionSql } from "postgres";
import type { EventStore } from "../core/event-store.ts";
import type { RecordedEvent } from "../core/messages.ts";
import type { ConsumerDefinition } from "./consumer-definition.ts";

export type ApplyOutcome = { status: "applied" | "duplicate"; gapFilled: number };

/**
 * Starts an apply transaction: shares the lock that a rebuild's swap takes alone, and commits without
 * waiting for the WAL flush. That is safe here: a read-model commit lost in a Postgres crash leaves the
 * event unapplied in the model and in the stream versions alike, and the sweep applies it again from the
 * store (the truth). It spares every delivery an fsync, which on a busy disk is most of its latency.
 */
export function shareConsumerLock(tx: TransactionSql, consumer: string): PendingQuery<Row[]> {
  return tx`select set_config('synchronous_commit', 'off', true),
                   pg_advisory_xact_lock_shared(${consumerLockKey(tx, consumer)})`;
}

export async function takeConsumerLock(tx: TransactionSql, consumer: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(${consumerLockKey(tx, consumer)})`;
}

const consumerLockKey = (tx: TransactionSql, consumer: string) =>
  tx`hashtext('eventline.consumer.' || current_schema() || '.' || ${consumer})`;

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
 * Applies events to the read model inside `tx`: one statement records them in the inbox and moves each
 * stream's applied version to its last event here, then the handlers run for the events the inbox had not
 * seen. Events must be in version order and contiguous with what was applied, their streams' rows locked.
 */
export async function applyInTransaction(
  tx: TransactionSql,
  def: ConsumerDefinition,
  tables: Record<string, string>,
  consumer: string,
  events: RecordedEvent[],
): Promise<number> {
  if (events.length === 0) return 0;
  const last = new Map<string, number>();
  for (const e of events) last.set(e.streamId, Math.max(e.version, last.get(e.streamId) ?? 0));
  const inserted = await tx<{ event_id: string }[]>`
    with moved as (
      update consumer_streams c set version = t.v
      from unnest(${[...last.keys()]}::text[], ${[...last.values()]}::int8[]) as t(s, v)
      where c.consumer = ${consumer} and c.stream_id = t.s
    )
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
