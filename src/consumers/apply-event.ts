import type { Sql, TransactionSql } from "postgres";
import type { EventStore } from "../core/event-store.ts";
import type { RecordedEvent } from "../core/messages.ts";
import type { ConsumerDefinition } from "./consumer-definition.ts";

export type ApplyOutcome = { status: "applied" | "duplicate"; gapFilled: number };

/**
 * Starts an apply transaction and locks the consumer's rows of these streams, returning each one's applied
 * version; one round trip. First it shares the lock that a rebuild's swap takes alone, and sets the
 * transaction to commit without waiting for the WAL flush. That is safe here: a read-model commit lost in
 * a Postgres crash leaves the event unapplied in the model and in the stream versions alike, and the sweep
 * applies it again from the store (the truth); it spares every delivery an fsync. Then each stream's row
 * is inserted at version 0 or, when it exists, locked by a no-op update, in stream-id order so that two
 * appliers never deadlock.
 */
export async function lockStreams(tx: TransactionSql, consumer: string, streamIds: string[]): Promise<Map<string, number>> {
  const streams = [...new Set(streamIds)].sort();
  const rows = await tx<{ stream_id: string; version: number }[]>`
    with locked as (
      select set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock_shared(${consumerLockKey(tx, consumer)})
    )
    insert into eventline_consumer_streams as c (consumer, stream_id, version)
    select ${consumer}, s, 0 from locked, unnest(${streams}::text[]) as t(s) order by s
    on conflict (consumer, stream_id) do update set version = c.version
    returning stream_id, version`;
  return new Map(rows.map((r) => [r.stream_id, r.version]));
}

export async function takeConsumerLock(tx: TransactionSql, consumer: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(${consumerLockKey(tx, consumer)})`;
}

const consumerLockKey = (tx: TransactionSql, consumer: string) =>
  tx`hashtext('eventline.consumer.' || current_schema() || '.' || ${consumer})`;

/**
 * How many streams' handlers run at once. postgres.js sends at most 100 statements down a connection
 * before it waits for answers, and past that its queue slows to a crawl (5k upserts/s against 50k/s at 64).
 */
const STREAMS_AT_ONCE = 64;

/**
 * Runs the definition's handlers over events already known to be new. Each stream's events go one after
 * another in version order; different streams' go at once (up to STREAMS_AT_ONCE), so their statements
 * are pipelined on the transaction's connection instead of waiting a round trip each (unless the
 * definition is `sequential`).
 */
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
  if (def.sequential) {
    for (const event of events) await def.handlers[event.type]?.({ tx, tables, event });
    return;
  }
  const shared = interleavable(tx, def.name);
  const handle = (event: RecordedEvent) => def.handlers[event.type]?.({ tx: shared, tables, event });
  const byStream = new Map<string, RecordedEvent[]>();
  for (const e of events) {
    const list = byStream.get(e.streamId);
    if (list) list.push(e);
    else byStream.set(e.streamId, [e]);
  }
  // The first failure is the cause; the other chains' statements then fail only because the
  // transaction is aborted (25P02).
  let cause: { error: unknown } | undefined;
  const failed = (error: unknown) => {
    if (!cause || (isAbortedTransaction(cause.error) && !isAbortedTransaction(error))) cause = { error };
  };
  const streams = [...byStream.values()];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(STREAMS_AT_ONCE, streams.length) }, async () => {
      // After a failure the transaction is lost: the streams not yet started are left alone.
      while (next < streams.length && cause === undefined) {
        const stream = streams[next++] as RecordedEvent[];
        try {
          for (const event of stream) await handle(event);
        } catch (error) {
          failed(error);
        }
      }
    }),
  );
  // Every chain has finished before the transaction rolls back, so none sends a statement after it.
  if (cause) throw cause.error;
}

const isAbortedTransaction = (error: unknown) => (error as { code?: string })?.code === "25P02";

/**
 * The transaction as interleaved handlers get it: a savepoint would span other streams' statements (a
 * rollback to it would undo their writes while their inbox rows commit), so it is refused with the fix.
 */
function interleavable(tx: TransactionSql, consumer: string): TransactionSql {
  return new Proxy(tx, {
    get(target, property, receiver) {
      if (property === "savepoint")
        return () => {
          throw new Error(
            `consumer ${consumer}: tx.savepoint would interleave with other streams' handlers; set sequential: true on the read model to use it`,
          );
        };
      return Reflect.get(target, property, receiver);
    },
  });
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
      update eventline_consumer_streams c set version = t.v
      from unnest(${[...last.keys()]}::text[], ${[...last.values()]}::int8[]) as t(s, v)
      where c.consumer = ${consumer} and c.stream_id = t.s
    )
    insert into eventline_inbox (consumer, event_id, stream_id, version, position)
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
      const last = (await lockStreams(tx, def.name, [event.streamId])).get(event.streamId) ?? 0;
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
