import type { Sql, TransactionSql } from "postgres";
import { EventlineError } from "../core/errors.ts";
import { type Checkpoint, type EventStore, START } from "../core/event-store.ts";
import type { RecordedEvent } from "../core/messages.ts";
import { runHandlers, takeConsumerLock } from "./apply-event.ts";
import { bindsEvent } from "./catch-up.ts";
import type { ConsumerDefinition } from "./consumer-definition.ts";
import { categoriesOf } from "./topic-pattern.ts";

export type RebuildProgress = {
  applied: number;
  position: number;
  headPosition: number;
  eventsPerSecond: number;
  percent: number;
};

export type RebuildOptions = {
  /** Read models live here (READ_DATABASE_URL). */
  sql: Sql;
  store: EventStore;
  def: ConsumerDefinition;
  batchSize?: number;
  onProgress?: (p: RebuildProgress) => void;
  /** Called once the rebuild holds its read model's lock, so a caller can answer "started" truthfully. */
  onLocked?: () => void;
};

/**
 * A copy of a read model built from the event store into tables of its own (`<table><suffix>`), with its
 * own bookkeeping under the consumer name `<name>#<label>`. The rebuild swaps such a copy in; the chaos
 * checks compare one with the live model.
 */
export async function replayIntoCopy(options: RebuildOptions & { label: string }) {
  const { sql, store, def } = options;
  const suffix = `_${options.label}${Date.now().toString(36)}`;
  const shadow = `${def.name}#${options.label}`;
  const tables = Object.fromEntries(Object.keys(def.tables).map((t) => [t, `${t}${suffix}`]));
  const categories = categoriesOf(def.bindings);
  const batchSize = options.batchSize ?? 1000;
  const started = performance.now();
  let applied = 0;
  let checkpoint: Checkpoint = START;

  await sql`delete from eventline_consumer_streams where consumer = ${shadow}`;
  for (const [name, ddl] of Object.entries(def.tables)) await sql.unsafe(ddl(tables[name] as string));

  // A replay writes no inbox rows: the stream versions it records make any later delivery of these events
  // a duplicate. A million inbox rows would only slow it.
  const versions = new Map<string, number>();

  /**
   * The batch's events each stream's next, in version order. The log's order (transaction, position) is
   * not always a stream's version order: a batch that locked another stream first has the older
   * transaction id, yet may write a stream's next version after a younger transaction wrote the one before.
   * So a version past the next one brings the missing ones from the stream first, and one already applied
   * (it came that way) is skipped.
   */
  async function inVersionOrder(events: RecordedEvent[]): Promise<RecordedEvent[]> {
    const ordered: RecordedEvent[] = [];
    for (const e of events) {
      const have = versions.get(e.streamId) ?? 0;
      if (e.version <= have) continue;
      // A type this read model does not bind only moves the stream on.
      if (!bindsEvent(def, e)) {
        if (e.version === have + 1) versions.set(e.streamId, e.version);
        continue;
      }
      if (e.version > have + 1) {
        const missing = await store.readStream(e.streamId, { fromVersion: have + 1, toVersion: e.version - 1 });
        ordered.push(...missing.filter((m) => bindsEvent(def, m)));
      }
      ordered.push(e);
      versions.set(e.streamId, e.version);
    }
    return ordered;
  }

  async function applyBatch(tx: TransactionSql, events: RecordedEvent[]) {
    const relevant = await inVersionOrder(events);
    await runHandlers(tx, def, tables, relevant);
    applied += relevant.length;
    // Every stream of the batch, as far as it moved (an unbound type moves it too).
    const last = new Map<string, number>();
    for (const e of events) {
      const version = versions.get(e.streamId);
      if (version) last.set(e.streamId, version);
    }
    if (last.size > 0) {
      await tx`
        insert into eventline_consumer_streams (consumer, stream_id, version)
        select ${shadow}, s, v from unnest(${[...last.keys()]}::text[], ${[...last.values()]}::int8[]) as t(s, v)
        on conflict (consumer, stream_id) do update set version = excluded.version`;
    }
  }

  const progress = (position: number, headPosition: number, percent?: number) => {
    const seconds = (performance.now() - started) / 1000;
    options.onProgress?.({
      applied,
      position,
      headPosition,
      eventsPerSecond: seconds > 0 ? applied / seconds : 0,
      percent: percent ?? (headPosition > 0 ? Math.min(100, (100 * position) / headPosition) : 100),
    });
  };

  // Replay everything visible now; the live model is not touched.
  let headPosition = await store.headPosition();
  const read = (after: Checkpoint) => {
    const reading = store.readAll({ after, batchSize, ...categories });
    // A batch that fails to apply ends the rebuild; the read ahead of it must not crash the process then.
    reading.catch(() => {});
    return reading;
  };
  let next = read(checkpoint);
  for (;;) {
    const batch = await next;
    if (batch.events.length === 0) break;
    // The next batch is read while this one is applied: reading is most of a set-based rebuild's time, and
    // half a per-event one's.
    next = read(batch.checkpoint);
    await sql.begin((tx) => applyBatch(tx, batch.events));
    checkpoint = batch.checkpoint;
    const last = batch.events[batch.events.length - 1] as RecordedEvent;
    if (last.position > headPosition) headPosition = await store.headPosition();
    progress(last.position, headPosition);
  }

  return {
    tables,
    shadow,
    suffix,
    get applied() {
      return applied;
    },
    get checkpoint() {
      return checkpoint;
    },
    /**
     * Applies what arrived since, inside `tx` (the rebuild's swap transaction, which holds the live
     * consumer's lock). First through the gap-safe horizon, which moves the checkpoint; then, stream by
     * stream, every version the live consumer has applied and the copy has not: a transaction held open
     * anywhere keeps the horizon back, and the copy must not lack what the inbox and the stream versions
     * it replaces say was applied. Those are read by version, since within a stream versions need not
     * follow the order of transaction ids. They leave the checkpoint where it is: the sweep walks past
     * them later and finds them applied.
     */
    async catchUpIn(tx: TransactionSql) {
      for (;;) {
        const batch = await store.readAll({ after: checkpoint, batchSize, ...categories });
        if (batch.events.length === 0) break;
        await applyBatch(tx, batch.events);
        checkpoint = batch.checkpoint;
      }
      const behind = await tx<{ stream_id: string; live: number; copy: number }[]>`
        select l.stream_id, l.version as live, coalesce(s.version, 0) as copy
        from eventline_consumer_streams l
        left join eventline_consumer_streams s on s.consumer = ${shadow} and s.stream_id = l.stream_id
        where l.consumer = ${def.name} and l.version > coalesce(s.version, 0)`;
      for (const b of behind) {
        await applyBatch(tx, await store.readStream(b.stream_id, { fromVersion: b.copy + 1, toVersion: b.live }));
      }
    },
    finished: () => progress(checkpoint.position, Math.max(headPosition, checkpoint.position), 100),
    /** Drops the copy and its bookkeeping. */
    async drop() {
      for (const t of Object.values(tables)) await sql.unsafe(`drop table if exists ${t}`);
      await sql`delete from eventline_consumer_streams where consumer = ${shadow}`;
    },
  };
}

/**
 * Rebuilds a read model from the event store (the truth, never the broker) while the live one keeps
 * serving: events are replayed into fresh tables, then, with the live consumer paused by its lock for a
 * moment, the last events are applied and the tables swapped in one transaction.
 */
export async function rebuildReadModel(options: RebuildOptions): Promise<{ applied: number; checkpoint: Checkpoint }> {
  const { sql, def } = options;
  // One rebuild per read model at a time, held on a session of its own for the whole rebuild (two would
  // each swap in a copy, and the second would drop the first's tables from under it).
  const session = await sql.reserve();
  try {
    const [lock] = await session<
      { taken: boolean }[]
    >`select pg_try_advisory_lock(${rebuildLockKey(session, def.name)}) as taken`;
    if (!lock?.taken) throw new EventlineError("REBUILD_RUNNING", `read model ${def.name} is already being rebuilt`);
    options.onLocked?.();
    try {
      return await rebuildUnderLock(options);
    } finally {
      await session`select pg_advisory_unlock(${rebuildLockKey(session, def.name)})`;
    }
  } finally {
    session.release();
  }
}

const rebuildLockKey = (sql: Sql, readModel: string) =>
  sql`hashtext('eventline.rebuild.' || current_schema() || '.' || ${readModel})`;

async function rebuildUnderLock(options: RebuildOptions): Promise<{ applied: number; checkpoint: Checkpoint }> {
  const { sql, def } = options;
  const copy = await replayIntoCopy({ ...options, label: "rb" });
  await sql.begin(async (tx) => {
    await takeConsumerLock(tx, def.name);
    await copy.catchUpIn(tx);
    for (const name of Object.keys(def.tables)) {
      await tx.unsafe(`alter table if exists ${name} rename to ${name}${copy.suffix}_old`);
      await tx.unsafe(`alter table ${copy.tables[name]} rename to ${name}`);
      await tx.unsafe(`drop table if exists ${name}${copy.suffix}_old`);
    }
    await tx`delete from eventline_consumer_streams where consumer = ${def.name}`;
    await tx`update eventline_consumer_streams set consumer = ${def.name} where consumer = ${copy.shadow}`;
    // The live inbox stays: the event ids in it were applied and still are in the rebuilt model.
    const cp = copy.checkpoint;
    await tx`
      insert into eventline_consumer_checkpoints (consumer, transaction_id, position) values (${def.name}, ${cp.transactionId}::xid8, ${cp.position})
      on conflict (consumer) do update set transaction_id = excluded.transaction_id, position = excluded.position, updated_at = now()`;
  });
  // The swap applied the tail under the lock: the new model has caught up with the log, so say so.
  copy.finished();
  return { applied: copy.applied, checkpoint: copy.checkpoint };
}
