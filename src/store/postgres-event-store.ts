import type { Sql } from "postgres";
import { appendResult, assertAppendRequest, finishRead, type PreparedEvent, prepareEvents } from "../core/event-pipeline.ts";
import type { AppendOptions, AppendRequest, AppendResult, EventStore, IdempotencyRecord } from "../core/event-store.ts";
import { ConcurrencyError } from "../core/errors.ts";
import type { ExpectedVersion } from "../core/expected-version.ts";
import type { RecordedEvent } from "../core/messages.ts";
import { createPersonalData, type KeyStore, type PersonalDataPolicy } from "../core/personal-data.ts";
import { inSpan, SpanKind } from "../core/telemetry.ts";
import type { Upcasters } from "../core/upcasters.ts";
import { appendInTransaction, isRetriableConflict } from "./append-in-transaction.ts";
import { appendPacked, type BatchedAppend, fitsPackedBatch, type WrittenEvent } from "./append-packed.ts";
import { type EventRow, toRecorded } from "./event-row.ts";
import { createBatcher } from "./group-commit.ts";
import { createPipelinedConnections } from "./pipelined-connections.ts";
import { createPostgresKeyStore, forgetSubjectIn } from "./postgres-key-store.ts";
import { headPositionOf, readLogRows } from "./read-log.ts";
import { readStreamRows, streamVersionOf, streamVersionsOf } from "./read-stream.ts";
import { loadSnapshotRow, saveSnapshotRow } from "./snapshot-queries.ts";

export { type EventRow, toRecorded };

export type PostgresEventStoreOptions = {
  sql: Sql;
  upcasters?: Upcasters;
  personalData?: PersonalDataPolicy;
  /**
   * Where subject keys live; by default the `subject_keys` table on `sql`, which an append that forgets a
   * subject writes in its own transaction. A key store elsewhere is also told, after the commit.
   */
  keys?: KeyStore;
  /** Channel notified once per appending transaction; the relay listens on it. */
  notifyChannel?: string;
  /** Gather concurrent appends into one round trip and transaction (default true). */
  groupCommit?: boolean;
  /** Connections group commit writes on at once (default 2), each carrying up to two batches. */
  groupCommitConnections?: number;
};

export const DEFAULT_NOTIFY_CHANNEL = "eventline_outbox";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Postgres refused some of the statement's data: a data exception (class 22: bad text, bad number) or an
 * integrity violation (class 23: a check, a not-null). Only those are one call's fault; a timeout, a lock
 * wait or a lost connection would fail every half of a split batch again, each after its own wait.
 */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && /^2[23]/.test(code);
}

/** A batch's events share their millisecond, so its ISO text is made once, not once per event. */
let lastMs = Number.NaN;
let lastIso = "";
function isoOf(atMs: number): string {
  const ms = Math.floor(atMs);
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** An event the packed batch wrote, as the envelope callers see: the caller had all but these numbers. */
const envelope = (streamId: string, p: PreparedEvent, e: WrittenEvent): RecordedEvent => ({
  eventId: p.eventId,
  streamId,
  version: e.version,
  position: e.position,
  type: p.type,
  schemaVersion: p.schemaVersion,
  data: p.data,
  metadata: p.metadata,
  occurredAt: isoOf(e.atMs),
});

/** The event store on Postgres: append-only events, outbox rows in the same transaction, gap-safe reads. */
export function createPostgresEventStore(options: PostgresEventStoreOptions): EventStore {
  const { sql, upcasters } = options;
  const channel = options.notifyChannel ?? DEFAULT_NOTIFY_CHANNEL;
  const keys = options.keys ?? createPostgresKeyStore(sql);
  const personalData = options.personalData ? createPersonalData(options.personalData, keys) : undefined;
  const read = (events: RecordedEvent[]) => finishRead(events, personalData, upcasters);
  // Without sealed fields or upcasters an append's results are final as written: no promise per result.
  const finish = (results: AppendResult[]) =>
    !personalData && !upcasters ? results : Promise.all(results.map(async (r) => ({ ...r, events: await read(r.events) })));

  /** A call down the general path, its failure kept as its own answer. */
  const alone = (call: BatchedAppend) =>
    appendInTransaction(sql, channel, call.requests, call.prepared, {}).catch((error: unknown) =>
      error instanceof Error ? error : new Error(String(error)),
    );

  /**
   * One batch: the packed statement when every call fits it, otherwise (or when it meets a stored event
   * id: a replay or a reuse) each call down the general path on its own.
   */
  async function flushOnce(calls: BatchedAppend[]): Promise<(AppendResult[] | Error)[]> {
    if (!fitsPackedBatch(calls)) return Promise.all(calls.map(alone));
    for (let attempt = 1; ; attempt++) {
      try {
        const outcomes = await pipelined.run((connection) => appendPacked(connection, channel, calls));
        if (!outcomes) return Promise.all(calls.map(alone));
        return calls.map((call, i) => {
          const o = outcomes[i];
          if (!o) return new Error("the batch answered fewer results than calls");
          if (o.status === "conflict") {
            const expected: ExpectedVersion = /^\d+$/.test(o.expected) ? Number(o.expected) : (o.expected as ExpectedVersion);
            return new ConcurrencyError(o.streamId, expected, o.actual);
          }
          // Written events come back in the order of the call's events.
          let k = 0;
          return call.requests.map((request, r) =>
            appendResult(
              request.streamId,
              (call.prepared[r] ?? []).map((p) => envelope(request.streamId, p, o.events[k++] as WrittenEvent)),
            ),
          );
        });
      } catch (error) {
        // Another writer stored one of these event ids meanwhile, or a write bypassed the streams' locks
        // and took a version: run it again, and the second run sees the committed rows.
        if (!isRetriableConflict(error) || attempt >= 5) throw error;
      }
    }
  }

  /**
   * A batch Postgres refuses for one call's data is split in halves until that call is alone, so it fails
   * by itself and every other call gets its own answer. Anything else fails everyone: splitting cannot help.
   */
  async function flushBatch(calls: BatchedAppend[]): Promise<(AppendResult[] | Error)[]> {
    try {
      return await flushOnce(calls);
    } catch (error) {
      if (calls.length === 1 || !isDataError(error)) throw error;
      const half = Math.ceil(calls.length / 2);
      const settle = (part: BatchedAppend[]) =>
        flushBatch(part).catch((e: unknown) => part.map(() => (e instanceof Error ? e : new Error(String(e)))));
      return [...(await settle(calls.slice(0, half))), ...(await settle(calls.slice(half)))];
    }
  }

  // Two connections, two batches at once on each: while Postgres writes one batch on a connection, the
  // answer to the one before travels back and is read, so neither side waits for the other. At most 256
  // calls a batch: one-stream calls then stay within the streams eventline_lock_streams locks one by one
  // under Postgres's default max_locks_per_transaction, instead of locking out every other writer.
  const pipelined = createPipelinedConnections(sql, options.groupCommitConnections ?? 2);
  const batcher = createBatcher<BatchedAppend, AppendResult[]>(flushBatch, 256, 2 * pipelined.connections);

  /** Database semantic conventions for an append's span. */
  const appendAttributes = (requests: AppendRequest[]) => ({
    "db.system.name": "postgresql",
    "db.operation.name": "append",
    "db.collection.name": "eventline_events",
    "eventline.streams.count": requests.length,
    "eventline.events.count": requests.reduce((n, r) => n + r.events.length, 0),
  });

  async function appendNow(requests: AppendRequest[], appendOptions: AppendOptions): Promise<AppendResult[]> {
    for (const r of requests) {
      assertAppendRequest(r);
      for (const e of r.events) {
        if (e.eventId !== undefined && !UUID.test(e.eventId)) throw new TypeError(`eventId ${e.eventId} is not a UUID`);
      }
    }
    const prepared = await Promise.all(requests.map((r) => prepareEvents(r, personalData, upcasters)));
    const ids = prepared.flat().map((p) => p.eventId);
    if (ids.length > 1 && new Set(ids).size !== ids.length) throw new TypeError("an event id appears twice in one append");
    // An idempotent answer or a forget belongs in the events' own transaction; the rest share one with
    // whatever else is being appended at the same time.
    if (options.groupCommit !== false && !appendOptions.idempotency && !appendOptions.forgetSubjects?.length) {
      return finish(await batcher.submit({ requests, prepared }));
    }
    const results = await appendInTransaction(sql, channel, requests, prepared, appendOptions);
    // A key store of its own (not this database's subject_keys) can only be told after the commit.
    if (options.keys) for (const s of appendOptions.forgetSubjects ?? []) await options.keys.forget(s);
    return finish(results);
  }

  const store: EventStore = {
    append: (requests, appendOptions = {}) =>
      inSpan("append eventline_events", { kind: SpanKind.CLIENT, attributes: appendAttributes(requests) }, () =>
        appendNow(requests, appendOptions),
      ),

    async appendToStream(streamId, events, opts = {}) {
      const [result] = await store.append([{ streamId, events, expectedVersion: opts.expectedVersion ?? "any" }], opts);
      return result as AppendResult;
    },

    async idempotencyRecord(key) {
      const [row] = await sql<{ fingerprint: string; status: number; body: unknown }[]>`
        select fingerprint, status, body from eventline_idempotency_keys where key = ${key}`;
      return row
        ? ({ key, fingerprint: row.fingerprint, status: row.status, body: row.body } satisfies IdempotencyRecord)
        : undefined;
    },

    readStream: async (streamId, opts = {}) => read(await readStreamRows(sql, streamId, opts)),
    headPosition: () => headPositionOf(sql),
    streamVersion: (streamId) => streamVersionOf(sql, streamId),
    streamVersions: (streamIds) => streamVersionsOf(sql, streamIds),

    async readAll(opts = {}) {
      const batch = await readLogRows(sql, opts);
      return { events: opts.sealed ? batch.events : await read(batch.events), checkpoint: batch.checkpoint };
    },

    async findEvents(eventIds) {
      const valid = eventIds.filter((id) => UUID.test(id));
      if (valid.length === 0) return [];
      const rows = await sql<EventRow[]>`select * from eventline_events where event_id = any(${valid}::uuid[]) order by position`;
      return read(rows.map(toRecorded));
    },

    saveSnapshot: (snapshot) => saveSnapshotRow(sql, snapshot),
    loadSnapshot: (streamId) => loadSnapshotRow(sql, streamId),

    async forgetSubject(subjectId) {
      await sql.begin((tx) => forgetSubjectIn(tx, subjectId));
      if (options.keys) await options.keys.forget(subjectId);
    },
  };
  return store;
}
