import type { Sql } from "postgres";
import { errorMessage } from "../core/errors.ts";
import { type Checkpoint, type EventStore, START } from "../core/event-store.ts";
import type { RecordedEvent } from "../core/messages.ts";
import { routingKeyOf } from "../broker/event-message.ts";
import { applyEvent } from "./apply-event.ts";
import type { ConsumerDefinition } from "./consumer-definition.ts";
import { categoriesOf, topicMatches } from "./topic-pattern.ts";

export type SweepDeps = {
  sql: Sql;
  store: EventStore;
  def: ConsumerDefinition;
  tables: Record<string, string>;
  /**
   * Opens what handlers see (personal fields). Given, the sweep reads the log sealed and opens each event
   * itself, so what it dead-letters is the stored, sealed form.
   */
  prepare?: (events: RecordedEvent[]) => Promise<RecordedEvent[]>;
};

/**
 * What a sweep does with an event its handler keeps refusing: after `maxAttempts` sweeps it is handed to
 * `deadLetter` (the runtime parks it in the dead-letter queue) and the walk moves on, so one poison event
 * cannot hold the consumer's checkpoint back for ever.
 */
export type PoisonPolicy = {
  maxAttempts: number;
  failures: Map<string, number>;
  deadLetter: (event: RecordedEvent, reason: string) => Promise<void>;
};

export type SweepResult = {
  applied: number;
  /** Where the walk began: the checkpoint moved when `checkpoint` differs from it. */
  from: Checkpoint;
  checkpoint: Checkpoint;
  caughtUp: boolean;
  oldestUnapplied?: RecordedEvent;
  /** Set when the walk stopped at an event whose handler failed (to be tried again). */
  failed?: RecordedEvent;
};

export async function loadCheckpoint(sql: Sql, consumer: string): Promise<Checkpoint> {
  const [row] = await sql<{ transaction_id: string; position: number }[]>`
    select transaction_id::text, position from eventline_consumer_checkpoints where consumer = ${consumer}`;
  return row ? { transactionId: row.transaction_id, position: row.position } : START;
}

async function saveCheckpoint(sql: Sql, consumer: string, cp: Checkpoint): Promise<void> {
  await sql`
    insert into eventline_consumer_checkpoints (consumer, transaction_id, position, updated_at)
    values (${consumer}, ${cp.transactionId}::xid8, ${cp.position}, now())
    on conflict (consumer) do update set transaction_id = excluded.transaction_id, position = excluded.position, updated_at = now()
    where (eventline_consumer_checkpoints.transaction_id, eventline_consumer_checkpoints.position) < (excluded.transaction_id, excluded.position)`;
}

/** The consumer's applied version of each of these streams that it has seen. */
export async function appliedVersions(sql: Sql, consumer: string, streamIds: string[]): Promise<Map<string, number>> {
  const streams = [...new Set(streamIds)];
  if (streams.length === 0) return new Map();
  const rows = await sql<{ stream_id: string; version: number }[]>`
    select stream_id, version from eventline_consumer_streams where consumer = ${consumer} and stream_id = any(${streams}::text[])`;
  return new Map(rows.map((r) => [r.stream_id, r.version]));
}

export function bindsEvent(def: ConsumerDefinition, event: Pick<RecordedEvent, "streamId" | "type">): boolean {
  const key = routingKeyOf(event);
  return def.bindings.some((p) => topicMatches(p, key));
}

/**
 * Walks the whole log (gap-safe) from the consumer's checkpoint. Events already applied move the
 * checkpoint on; events older than `graceMs` that the broker never delivered are applied from the store
 * (so a purged queue or lost broker data still converges); a younger unapplied event stops the walk,
 * since its message is probably on its way. `graceMs: 0` is a full catch-up.
 */
export async function sweep(
  deps: SweepDeps,
  options: { graceMs: number; maxBatches?: number; poison?: PoisonPolicy },
): Promise<SweepResult> {
  const { sql, store, def } = deps;
  const categories = categoriesOf(def.bindings);
  const from = await loadCheckpoint(sql, def.name);
  let checkpoint = from;
  let applied = 0;
  for (let i = 0; i < (options.maxBatches ?? Number.POSITIVE_INFINITY); i++) {
    const batch = await store.readAll({ after: checkpoint, batchSize: 500, ...categories, sealed: deps.prepare !== undefined });
    if (batch.events.length === 0) return { applied, from, checkpoint, caughtUp: true };
    const relevant = batch.events.filter((e) => bindsEvent(def, e));
    const versions = await appliedVersions(
      sql,
      def.name,
      relevant.map((e) => e.streamId),
    );
    const cutoff = Date.now() - options.graceMs;
    for (const event of relevant) {
      if (event.version <= (versions.get(event.streamId) ?? 0)) continue;
      if (Date.parse(event.occurredAt) > cutoff) return { applied, from, checkpoint, caughtUp: false, oldestUnapplied: event };
      let outcome: Awaited<ReturnType<typeof applyEvent>>;
      try {
        const [ready] = deps.prepare ? await deps.prepare([event]) : [event];
        outcome = await applyEvent(deps, ready as RecordedEvent);
        options.poison?.failures.delete(event.eventId);
      } catch (error) {
        const poison = options.poison;
        if (!poison) throw error;
        const attempts = (poison.failures.get(event.eventId) ?? 0) + 1;
        poison.failures.set(event.eventId, attempts);
        if (attempts < poison.maxAttempts) return { applied, from, checkpoint, caughtUp: false, failed: event };
        await poison.deadLetter(event, `catch-up: ${errorMessage(error)}`);
        poison.failures.delete(event.eventId);
        continue;
      }
      if (outcome.status === "applied") {
        applied += 1 + outcome.gapFilled;
        versions.set(event.streamId, event.version);
      }
    }
    checkpoint = batch.checkpoint;
    await saveCheckpoint(sql, def.name, checkpoint);
  }
  return { applied, from, checkpoint, caughtUp: false };
}

/**
 * Whether every event this consumer binds, up to `position`, is applied: the read-your-writes check.
 * Only events past the checkpoint can be unapplied, so it reads little when the consumer keeps up.
 */
export async function hasApplied(deps: SweepDeps, position: number): Promise<boolean> {
  const { sql, store, def } = deps;
  // A position the log has not reached yet cannot have been applied.
  if (position > (await store.headPosition())) return false;
  const categories = categoriesOf(def.bindings);
  let after = await loadCheckpoint(sql, def.name);
  for (let i = 0; i < 20; i++) {
    // includeRecent: the gap-safe horizon would hide the caller's own committed events whenever any older
    // transaction is still running, and an unseen event must not count as applied.
    const batch = await store.readAll({ after, batchSize: 1000, ...categories, throughPosition: position, includeRecent: true });
    const due = batch.events.filter((e) => bindsEvent(def, e));
    const versions = await appliedVersions(
      sql,
      def.name,
      due.map((e) => e.streamId),
    );
    if (due.some((e) => e.version > (versions.get(e.streamId) ?? 0))) return false;
    if (batch.events.length < 1000) return true;
    after = batch.checkpoint;
  }
  return false;
}

export type Lag = {
  consumer: string;
  headPosition: number;
  appliedPosition: number;
  lag: number;
  oldestUnappliedAgeSeconds: number;
};

/** Head position minus the consumer's checkpoint, and the age of the oldest event it has not applied. */
export async function consumerLag(deps: SweepDeps): Promise<Lag> {
  const headPosition = await deps.store.headPosition();
  const checkpoint = await loadCheckpoint(deps.sql, deps.def.name);
  const probe = await sweep(deps, { graceMs: Number.POSITIVE_INFINITY, maxBatches: 1 }).catch(() => undefined);
  const oldest = probe?.oldestUnapplied;
  return {
    consumer: deps.def.name,
    headPosition,
    appliedPosition: checkpoint.position,
    lag: Math.max(0, headPosition - checkpoint.position),
    oldestUnappliedAgeSeconds: oldest ? Math.max(0, (Date.now() - Date.parse(oldest.occurredAt)) / 1000) : 0,
  };
}
