import type { Sql, TransactionSql } from "postgres";
import {
  appendResult,
  assertAppendRequest,
  finishRead,
  isSameEvent,
  prepareEvents,
  replayOf,
  type PreparedEvent,
} from "../core/event-pipeline.ts";
import {
  type AppendOptions,
  type AppendRequest,
  type AppendResult,
  type EventStore,
  type IdempotencyRecord,
  type ReadAllOptions,
  START,
  type Snapshot,
} from "../core/event-store.ts";
import { ConcurrencyError, EventlineError, IdempotencyError, IdempotencyKeyTaken } from "../core/errors.ts";
import type { ExpectedVersion } from "../core/expected-version.ts";
import { createBatcher } from "./group-commit.ts";
import { assertExpectedVersion } from "../core/expected-version.ts";
import { streamCategory, type RecordedEvent } from "../core/messages.ts";
import { createPersonalData, type KeyStore, type PersonalDataPolicy } from "../core/personal-data.ts";
import type { Upcasters } from "../core/upcasters.ts";
import { createPostgresKeyStore, forgetSubjectIn } from "./postgres-key-store.ts";

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
  /** Group-commit batches in flight at once (default 4). */
  groupCommitConcurrency?: number;
};

/** A stored row as the batch function answers it for replays (jsonb: the time comes as text). */
type BatchEvent = Omit<EventRow, "transaction_id" | "occurred_at"> & { occurred_at: string };
/** What the batch functions answer per written event; the caller has the rest (t: epoch ms from 010, text from 007). */
type Written = { p: number; v: number; t: number | string };
type BatchResult =
  | { status: "ok" | "replay"; events: (BatchEvent | Written)[] }
  | { status: "conflict"; stream_id: string; expected: string; actual: number }
  | { status: "id_reused" };
type Call = { requests: AppendRequest[]; prepared: PreparedEvent[][] };

export const DEFAULT_NOTIFY_CHANNEL = "eventline_outbox";

export type EventRow = {
  position: number;
  transaction_id: string;
  event_id: string;
  stream_id: string;
  version: number;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: RecordedEvent["metadata"];
  occurred_at: Date;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * How appendRows packs a column into one string: values joined by the unit separator, SQL NULL as the
 * record separator. JSON.stringify escapes every control character, so only caller-given names (stream
 * ids, types, subject ids) can hold one; such a batch, or one with an empty name (string_to_array reads
 * an empty string as no element at all), goes to the general function instead.
 */
const PACK = { separator: "\x1f", null: "\x1e" } as const;
const packable = (text: string) => text.length > 0 && !text.includes(PACK.separator) && !text.includes(PACK.null);

/** A deadlock, or a unique index that another writer's commit just filled: running again settles it. */
function isRetriableConflict(error: unknown): boolean {
  const { code, constraint_name: constraint } = error as { code?: string; constraint_name?: string };
  return code === "40P01" || constraint === "events_event_id_unique" || constraint === "events_stream_version_unique";
}

/**
 * Postgres refused some of the statement's data: a data exception (class 22: bad text, bad number) or an
 * integrity violation (class 23: a check, a not-null). Only those are one call's fault; a timeout, a lock
 * wait or a lost connection would fail every half of a split batch again, each after its own wait.
 */
function isStatementError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && /^2[23]/.test(code);
}

/** The SQL of a read's category filter (see categoriesOf). */
function categoryCondition(sql: Sql, opts: ReadAllOptions) {
  if (!opts.categories) return sql``;
  if (!opts.categoryPrefixes?.length) return sql`and category = any(${opts.categories}::text[])`;
  const likes = opts.categoryPrefixes.map((p) => `${p.replace(/[\\%_]/g, "\\$&")}%`);
  return sql`and (category = any(${opts.categories}::text[]) or category like any(${likes}::text[]))`;
}

/** A row of `events` as the envelope callers see. */
export function toRecorded(r: EventRow): RecordedEvent {
  return {
    eventId: r.event_id,
    streamId: r.stream_id,
    version: r.version,
    position: r.position,
    type: r.type,
    schemaVersion: r.schema_version,
    data: r.data,
    metadata: r.metadata,
    occurredAt: r.occurred_at.toISOString(),
  };
}

/** The event store on Postgres: append-only events, outbox rows in the same transaction, gap-safe reads. */
export function createPostgresEventStore(options: PostgresEventStoreOptions): EventStore {
  const { sql, upcasters } = options;
  const channel = options.notifyChannel ?? DEFAULT_NOTIFY_CHANNEL;
  const keys = options.keys ?? createPostgresKeyStore(sql);
  const personalData = options.personalData ? createPersonalData(options.personalData, keys) : undefined;
  const read = (events: RecordedEvent[]) => finishRead(events, personalData, upcasters);
  const readSealed = (events: RecordedEvent[]) => finishRead(events, undefined, upcasters);
  // Without sealed fields or upcasters an append's results are final as written: no promise per result.
  const finish = (results: AppendResult[]) =>
    !personalData && !upcasters ? results : Promise.all(results.map(async (r) => ({ ...r, events: await read(r.events) })));

  async function writeStream(tx: TransactionSql, request: AppendRequest, prepared: PreparedEvent[]) {
    const n = prepared.length;
    // The upsert both locks the stream row and moves its version, so concurrent writers queue here
    // (a brand-new stream included) and the loser sees the winner's version, never a unique violation.
    const [{ version }] = (await tx`
      insert into streams (stream_id, version) values (${request.streamId}, ${n})
      on conflict (stream_id) do update set version = streams.version + ${n}
      returning version`) as unknown as [{ version: number }];
    const actual = version - n;
    assertExpectedVersion(request.streamId, request.expectedVersion, actual);
    const rows = await tx<EventRow[]>`
      with input as (
        select * from unnest(
          ${prepared.map((p) => p.eventId)}::uuid[], ${prepared.map((p) => p.type)}::text[],
          ${prepared.map((p) => p.schemaVersion)}::int[], ${prepared.map((p) => p.dataJson)}::text[],
          ${prepared.map((p) => p.metadataJson)}::text[], ${prepared.map((p) => p.subjectId ?? null)}::text[]
        ) with ordinality as t(event_id, type, schema_version, data, metadata, subject_id, ord)
      ), inserted as (
        insert into events (event_id, stream_id, category, version, type, schema_version, data, metadata, subject_id)
        select event_id, ${request.streamId}, ${streamCategory(request.streamId)}, ${actual} + ord, type,
               schema_version, data::jsonb, metadata::jsonb, subject_id
        from input order by ord
        returning *
      ), queued as (
        insert into outbox (position, event_id, stream_id, version, stream_hash)
        select position, event_id, stream_id, version, hashtext(stream_id) from inserted
      )
      select * from inserted order by position`;
    return rows;
  }

  async function appendOnce(
    requests: AppendRequest[],
    prepared: PreparedEvent[][],
    options: AppendOptions,
  ): Promise<AppendResult[]> {
    const allIds = prepared.flat().map((p) => p.eventId);
    return sql.begin(async (tx) => {
      const found = await tx<EventRow[]>`
        select * from events where event_id = any(${allIds}::uuid[]) order by position`;
      const foundEvents = found.map(toRecorded);
      const replays = new Map<number, AppendResult>();
      const rowsByRequest = new Map<number, EventRow[]>();
      for (const [i, r] of requests.entries()) {
        const ids = new Set((prepared[i] ?? []).map((p) => p.eventId));
        const replay = replayOf(
          { ...r, events: (prepared[i] ?? []).map((p) => ({ type: p.type, data: p.data, eventId: p.eventId })) },
          foundEvents.filter((e) => ids.has(e.eventId)),
        );
        if (replay) replays.set(i, replay);
      }
      // Streams are locked in a fixed order so two multi-stream appends cannot deadlock.
      const order = [...requests.keys()].filter((i) => !replays.has(i));
      order.sort((a, b) => ((requests[a]?.streamId ?? "") < (requests[b]?.streamId ?? "") ? -1 : 1));
      for (const i of order) rowsByRequest.set(i, await writeStream(tx, requests[i] as AppendRequest, prepared[i] ?? []));
      if (order.length > 0) await tx`select pg_notify(${channel}, '')`;
      const results = requests.map((r, i) => {
        const replay = replays.get(i);
        if (replay) return replay;
        return appendResult(r.streamId, (rowsByRequest.get(i) ?? []).map(toRecorded));
      });
      for (const subjectId of options.forgetSubjects ?? []) await forgetSubjectIn(tx, subjectId);
      const record = options.idempotency;
      if (record) {
        const answer = record.respond(results);
        const inserted = await tx`
          insert into idempotency_keys (key, fingerprint, status, body)
          values (${record.key}, ${record.fingerprint}, ${answer.status}, ${tx.json(answer.body as never)})
          on conflict (key) do nothing returning 1`;
        // Raising rolls back the events too: the key's first answer stands, this append never happened.
        if (inserted.length === 0) throw new IdempotencyKeyTaken(record.key);
      }
      return results;
    });
  }

  const fromBatch = (e: BatchEvent): RecordedEvent =>
    toRecorded({ ...e, transaction_id: "", occurred_at: new Date(e.occurred_at) });

  /**
   * Splits a call's events back into one result per request, in request order: each request takes as many
   * of its stream's events, in stream order, as it appended (two requests may name one stream).
   */
  function resultsOf(call: Call, events: RecordedEvent[]): AppendResult[] {
    const byStream = new Map<string, RecordedEvent[]>();
    for (const e of events) {
      const list = byStream.get(e.streamId);
      if (list) list.push(e);
      else byStream.set(e.streamId, [e]);
    }
    return call.requests.map((r, i) =>
      appendResult(r.streamId, (byStream.get(r.streamId) ?? []).splice(0, call.prepared[i]?.length ?? 0)),
    );
  }

  /**
   * The common batch (no stream in two requests, no event id twice) in typed arrays, one element per
   * event: migration 010's function. Undefined when one of its event ids is stored already (a replay or a
   * reuse): the statement then failed on the unique index, or the function answered 'fallback' for a call
   * that also failed its expected version; only the general function answers those.
   *
   * Each column travels as one string of values split by a control character (see PACK), and Postgres's
   * string_to_array makes the array: as text[] parameters, postgres.js escaped every element with two
   * regular-expression replaces and Postgres's array_in copied each quoted element character by character.
   */
  async function appendRows(calls: Call[]): Promise<BatchResult[] | undefined> {
    const cols = {
      call: [] as number[],
      stream: [] as string[],
      category: [] as string[],
      expected: [] as string[],
      id: [] as string[],
      type: [] as string[],
      schemaVersion: [] as number[],
      data: [] as string[],
      metadata: [] as string[],
      subject: [] as string[],
    };
    calls.forEach((call, c) => {
      call.requests.forEach((r, i) => {
        const category = streamCategory(r.streamId);
        const expected = String(r.expectedVersion);
        for (const p of call.prepared[i] ?? []) {
          cols.call.push(c);
          cols.stream.push(r.streamId);
          cols.category.push(category);
          cols.expected.push(expected);
          cols.id.push(p.eventId);
          cols.type.push(p.type);
          cols.schemaVersion.push(p.schemaVersion);
          cols.data.push(p.dataJson);
          cols.metadata.push(p.metadataJson);
          cols.subject.push(p.subjectId ?? PACK.null);
        }
      });
    });
    const [sep, nul] = [PACK.separator, PACK.null];
    // The function answers a row per written event; folded here into one text of numbers (call, position,
    // version, epoch ms per event), which costs the client one string to split instead of decoding a row.
    const [answer] = await sql<
      {
        fallback: boolean;
        written: string | null;
        conflicts: { call: number; stream: string; expected: string; actual: number }[] | null;
      }[]
    >`select coalesce(bool_or(r_status = 'fallback'), false) as fallback,
        string_agg(concat_ws(',', r_call, r_position, r_version, r_at_ms), ',' order by r_call, r_position)
          filter (where r_status = 'ok') as written,
        json_agg(json_build_object('call', r_call, 'stream', r_stream, 'expected', r_expected, 'actual', r_actual))
          filter (where r_status = 'conflict') as conflicts
      from eventline_append_rows(
        string_to_array(${cols.call.join(sep)}, ${sep})::int[], string_to_array(${cols.stream.join(sep)}, ${sep}),
        string_to_array(${cols.category.join(sep)}, ${sep}), string_to_array(${cols.expected.join(sep)}, ${sep}),
        string_to_array(${cols.id.join(sep)}, ${sep})::uuid[], string_to_array(${cols.type.join(sep)}, ${sep}),
        string_to_array(${cols.schemaVersion.join(sep)}, ${sep})::int[],
        string_to_array(${cols.data.join(sep)}, ${sep}, ${nul}), string_to_array(${cols.metadata.join(sep)}, ${sep}),
        string_to_array(${cols.subject.join(sep)}, ${sep}, ${nul}), ${channel})`.catch((error) => {
      if ((error as { constraint_name?: string }).constraint_name === "events_event_id_unique") return [undefined];
      throw error;
    });
    if (answer === undefined || answer.fallback) return undefined;
    const results: BatchResult[] = calls.map(() => ({ status: "ok", events: [] }));
    for (const c of answer.conflicts ?? []) {
      results[c.call] = { status: "conflict", stream_id: c.stream, expected: c.expected, actual: c.actual };
    }
    const numbers = answer.written ? answer.written.split(",") : [];
    for (let k = 0; k < numbers.length; k += 4) {
      (results[Number(numbers[k])] as { events: Written[] }).events.push({
        p: Number(numbers[k + 1]),
        v: Number(numbers[k + 2]),
        t: Number(numbers[k + 3]),
      });
    }
    return results;
  }

  /**
   * Whether a batch fits appendRows: every stream in one request only, every event id once, and every
   * caller-given text packable (JSON text and UUIDs always are).
   */
  function fitsRows(calls: Call[]): boolean {
    const streams = new Set<string>();
    const ids = new Set<string>();
    let events = 0;
    let requests = 0;
    for (const call of calls) {
      for (const r of call.requests) {
        if (!packable(r.streamId)) return false;
        streams.add(r.streamId);
        requests++;
      }
      for (const p of call.prepared.flat()) {
        if (!packable(p.type) || (p.subjectId !== undefined && !packable(p.subjectId))) return false;
        ids.add(p.eventId.toLowerCase());
        events++;
      }
    }
    return streams.size === requests && ids.size === events;
  }

  /** Any batch, as one jsonb document: migration 007's function (replays, shared streams, reused ids). */
  async function appendDocument(calls: Call[]): Promise<BatchResult[]> {
    const document = calls.map((call) => ({
      requests: call.requests.map((r, i) => ({
        stream_id: r.streamId,
        category: streamCategory(r.streamId),
        expected: String(r.expectedVersion),
        events: (call.prepared[i] ?? []).map((p) => ({
          event_id: p.eventId,
          type: p.type,
          schema_version: p.schemaVersion,
          data: p.data,
          metadata: p.metadata,
          subject_id: p.subjectId ?? null,
        })),
      })),
    }));
    const [row] = await sql<
      { r: BatchResult[] }[]
    >`select eventline_append_batch(${sql.json(document as never)}, ${channel}) as r`;
    return row?.r ?? [];
  }

  /**
   * One batch, one statement. When Postgres refuses the statement's data for a reason that is not a
   * conflict worth retrying, the batch is split in halves until the call at fault is alone, so it fails by
   * itself and every other call gets its own answer. Anything else (a lost connection, a timeout) fails
   * everyone: splitting cannot help.
   */
  async function flushBatch(calls: Call[]): Promise<(AppendResult[] | Error)[]> {
    try {
      return await flushOnce(calls);
    } catch (error) {
      if (calls.length === 1 || !isStatementError(error)) throw error;
      const half = Math.ceil(calls.length / 2);
      const settle = (part: Call[]) =>
        flushBatch(part).catch((e: unknown) => part.map(() => (e instanceof Error ? e : new Error(String(e)))));
      return [...(await settle(calls.slice(0, half))), ...(await settle(calls.slice(half)))];
    }
  }

  async function flushOnce(calls: Call[]): Promise<(AppendResult[] | Error)[]> {
    let results: BatchResult[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        // One statement, so one round trip: the functions are atomic and send the NOTIFY themselves.
        results = (fitsRows(calls) ? await appendRows(calls) : undefined) ?? (await appendDocument(calls));
        break;
      } catch (error) {
        // Another process stored one of these event ids, or created one of these streams through the
        // one-transaction path, meanwhile (or two batches deadlocked): run it again, and the second run
        // sees the committed rows.
        if (!isRetriableConflict(error) || attempt >= 5) throw error;
      }
    }
    return calls.map((call, i) => {
      const r = results[i];
      if (!r) return new Error("the batch answered fewer results than calls");
      if (r.status === "conflict") {
        const expected: ExpectedVersion = /^\d+$/.test(r.expected) ? Number(r.expected) : (r.expected as ExpectedVersion);
        return new ConcurrencyError(r.stream_id, expected, r.actual);
      }
      if (r.status === "id_reused") return new IdempotencyError("event ids of this append were already used by another append");
      // The common case, without resultsOf's grouping: written events come back in the order of the
      // call's events (the caller has the rest of each envelope). A replay's stored events come whole.
      if (r.events.every((e) => "p" in e)) {
        let k = 0;
        return call.requests.map((request, i) =>
          appendResult(
            request.streamId,
            (call.prepared[i] ?? []).map((p) => envelope(request.streamId, p, r.events[k++] as Written)),
          ),
        );
      }
      // A replay names stored events: each must be the event given again, not another under its id.
      const given = new Map(call.prepared.flat().map((p) => [p.eventId, p]));
      const reused = r.events.find((e) => {
        if ("p" in e) return false;
        const mine = given.get(e.event_id);
        return !mine || !isSameEvent(e, mine);
      });
      if (reused && !("p" in reused)) {
        return new IdempotencyError(`event id ${reused.event_id} was already used for another event`, {
          streamId: reused.stream_id,
        });
      }
      const prepared = call.prepared.flatMap((events, i) =>
        events.map((p) => ({ p, streamId: call.requests[i]?.streamId as string })),
      );
      return resultsOf(
        call,
        r.events.map((e, k) => {
          if (!("p" in e)) return fromBatch(e);
          const mine = prepared[k] as (typeof prepared)[number];
          return envelope(mine.streamId, mine.p, e);
        }),
      );
    });
  }

  const envelope = (streamId: string, p: PreparedEvent, e: Written): RecordedEvent => ({
    eventId: p.eventId,
    streamId,
    version: e.v,
    position: e.p,
    type: p.type,
    schemaVersion: p.schemaVersion,
    data: p.data,
    metadata: p.metadata,
    occurredAt: new Date(e.t).toISOString(),
  });

  // Two flushes at once let Postgres work on one batch while the next is gathered and sent. On the 2-core
  // machine, 256 concurrent one-event appends (migration 010's function, the batcher sharing each turn's
  // submissions between free slots; 40k appends on a fresh database, run by hand with this option varied,
  // two runs each): one flush 13.0-13.2k/s, two 16.2-16.8k/s, three 15.5-15.9k/s, four 15.4k/s.
  const batcher = createBatcher<Call, AppendResult[]>(flushBatch, 500, options.groupCommitConcurrency ?? 2);

  /**
   * A stored transaction id the database has not reached yet means the log was restored into another
   * cluster: the horizon would hide those events for ever and every reader would quietly read nothing.
   * Checked when a read comes back empty, with one probe at the top of the commit-order index.
   */
  async function assertTransactionIdsBehind(): Promise<void> {
    const [ahead] = await sql<{ transaction_id: string }[]>`
      select transaction_id::text from events where transaction_id >= pg_snapshot_xmax(pg_current_snapshot()) limit 1`;
    if (ahead) {
      throw new EventlineError(
        "TRANSACTION_IDS_AHEAD",
        `events carry transaction id ${ahead.transaction_id}, which this database has not reached: the log was restored ` +
          "from another cluster, and no reader would see those events; run the restore step in the README " +
          "(Operations: restoring a dump) before starting any process",
      );
    }
  }

  const store: EventStore = {
    async append(requests, appendOptions = {}) {
      for (const r of requests) {
        assertAppendRequest(r);
        for (const e of r.events) {
          if (e.eventId !== undefined && !UUID.test(e.eventId)) throw new TypeError(`eventId ${e.eventId} is not a UUID`);
        }
      }
      const prepared = await Promise.all(requests.map((r) => prepareEvents(r, personalData)));
      const ids = prepared.flat().map((p) => p.eventId);
      if (ids.length > 1 && new Set(ids).size !== ids.length) throw new TypeError("an event id appears twice in one append");
      // An idempotency record's answer is computed here in TypeScript, so those appends keep their own
      // transaction; the rest share one with whatever else is being appended at the same time.
      if (options.groupCommit !== false && !appendOptions.idempotency && !appendOptions.forgetSubjects?.length) {
        return finish(await batcher.submit({ requests, prepared }));
      }
      for (let attempt = 1; ; attempt++) {
        try {
          const results = await appendOnce(requests, prepared, appendOptions);
          // A key store of its own (not this database's subject_keys) can only be told after the commit.
          if (options.keys) for (const s of appendOptions.forgetSubjects ?? []) await options.keys.forget(s);
          return finish(results);
        } catch (error) {
          // Another transaction stored one of these event ids meanwhile (now it is a replay), or a batch
          // created one of these streams, or deadlocked with this one: the next run sees what committed.
          if (!isRetriableConflict(error) || attempt >= 5) throw error;
        }
      }
    },

    async appendToStream(streamId, events, opts = {}) {
      const [result] = await store.append([{ streamId, events, expectedVersion: opts.expectedVersion ?? "any" }], opts);
      return result as AppendResult;
    },

    async idempotencyRecord(key) {
      const [row] = await sql<{ fingerprint: string; status: number; body: unknown }[]>`
        select fingerprint, status, body from idempotency_keys where key = ${key}`;
      return row
        ? ({ key, fingerprint: row.fingerprint, status: row.status, body: row.body } satisfies IdempotencyRecord)
        : undefined;
    },

    async readStream(streamId, opts = {}) {
      // occurred_at keeps microseconds, envelopes and `until` milliseconds: "until T" takes in the whole
      // millisecond T, so the state as of the time an event reports includes that event.
      const rows = await sql<EventRow[]>`
        select * from events
        where stream_id = ${streamId}
          and version >= ${opts.fromVersion ?? 1}
          ${opts.toVersion !== undefined ? sql`and version <= ${opts.toVersion}` : sql``}
          ${opts.until ? sql`and occurred_at < ${opts.until}::timestamptz + interval '1 millisecond'` : sql``}
        order by version`;
      return read(rows.map(toRecorded));
    },

    async headPosition() {
      const [row] = await sql<{ p: number | null }[]>`select max(position) as p from events`;
      return row?.p ?? 0;
    },

    async streamVersion(streamId) {
      const [row] = await sql<{ version: number }[]>`select version from streams where stream_id = ${streamId}`;
      return row?.version ?? 0;
    },

    async readAll(opts = {}) {
      const after = opts.after ?? START;
      // Only rows written by transactions older than every transaction still running are visible in
      // order; a slow transaction holds readers back instead of being skipped when it commits.
      const rows = await sql<EventRow[]>`
        select * from events
        where (transaction_id, position) > (${after.transactionId}::xid8, ${after.position})
          ${opts.includeRecent ? sql`` : sql`and transaction_id < pg_snapshot_xmin(pg_current_snapshot())`}
          ${opts.throughPosition === undefined ? sql`` : sql`and position <= ${opts.throughPosition}`}
          ${categoryCondition(sql, opts)}
        order by transaction_id, position
        limit ${opts.batchSize ?? 500}`;
      const last = rows[rows.length - 1];
      if (!last && !opts.includeRecent) await assertTransactionIdsBehind();
      const checkpoint = last ? { transactionId: String(last.transaction_id), position: last.position } : after;
      return { events: await (opts.sealed ? readSealed : read)(rows.map(toRecorded)), checkpoint };
    },

    async findEvents(eventIds) {
      const valid = eventIds.filter((id) => UUID.test(id));
      if (valid.length === 0) return [];
      const rows = await sql<EventRow[]>`select * from events where event_id = any(${valid}::uuid[]) order by position`;
      return read(rows.map(toRecorded));
    },

    async saveSnapshot(s) {
      await sql`
        insert into snapshots (stream_id, version, schema_version, state)
        values (${s.streamId}, ${s.version}, ${s.schemaVersion}, ${sql.json(s.state as never)})
        on conflict (stream_id) do update
          set version = excluded.version, schema_version = excluded.schema_version, state = excluded.state,
              created_at = now()
          where snapshots.version <= excluded.version or snapshots.schema_version <> excluded.schema_version`;
    },

    async loadSnapshot(streamId) {
      const [row] = await sql<{ version: number; schema_version: number; state: unknown }[]>`
        select version, schema_version, state from snapshots where stream_id = ${streamId}`;
      return row
        ? ({ streamId, version: row.version, schemaVersion: row.schema_version, state: row.state } satisfies Snapshot)
        : undefined;
    },

    async forgetSubject(subjectId) {
      await sql.begin((tx) => forgetSubjectIn(tx, subjectId));
      if (options.keys) await options.keys.forget(subjectId);
    },
  };
  return store;
}
