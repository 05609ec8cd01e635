import {
  START,
  type AppendResult,
  type Checkpoint,
  type EventStore,
  type IdempotencyRecord,
  type ReadAllOptions,
  type Snapshot,
} from "./event-store.ts";
import { appendResult, assertAppendRequest, finishRead, prepareEvents, replayOf } from "./event-pipeline.ts";
import { IdempotencyKeyTaken } from "./errors.ts";
import { assertExpectedVersion } from "./expected-version.ts";
import { streamCategory, type RecordedEvent } from "./messages.ts";
import { createPersonalData, generateKeyBytes, type KeyStore, type PersonalDataPolicy } from "./personal-data.ts";
import type { Upcasters } from "./upcasters.ts";

type Row = RecordedEvent & { transactionId: bigint; subjectId?: string };

/** An in-memory key store, for tests and the in-memory event store. */
export function createInMemoryKeyStore(): KeyStore {
  // A forgotten subject stays as a tombstone (null), so no key is ever made for it again.
  const keys = new Map<string, Uint8Array | null>();
  return {
    async obtain(subjectId) {
      if (!keys.has(subjectId)) keys.set(subjectId, generateKeyBytes());
      return keys.get(subjectId) ?? undefined;
    },
    async findMany(subjectIds) {
      return new Map(
        subjectIds.flatMap((s) => {
          const key = keys.get(s);
          return key ? [[s, key] as const] : [];
        }),
      );
    },
    async forget(subjectId) {
      keys.set(subjectId, null);
    },
  };
}

export type InMemoryEventStoreOptions = { upcasters?: Upcasters; personalData?: PersonalDataPolicy; keys?: KeyStore };

/** The event store contract held in memory: for unit tests and for deciders' specs. */
export function createInMemoryEventStore(options: InMemoryEventStoreOptions = {}): EventStore {
  const rows: Row[] = [];
  const byId = new Map<string, Row>();
  const streams = new Map<string, Row[]>();
  const snapshots = new Map<string, Snapshot>();
  const idempotency = new Map<string, IdempotencyRecord>();
  const keys = options.keys ?? createInMemoryKeyStore();
  const personalData = options.personalData ? createPersonalData(options.personalData, keys) : undefined;
  let transactions = 0n;
  const read = (events: RecordedEvent[]) => finishRead(events, personalData, options.upcasters);
  const strip = ({ transactionId: _t, subjectId: _s, ...event }: Row): RecordedEvent => event;

  function forgetNow(subjectId: string) {
    void keys.forget(subjectId);
    // A snapshot may hold the subject's data in clear; it is dropped and rebuilt from (redacted) events.
    for (const row of rows) if (row.subjectId === subjectId) snapshots.delete(row.streamId);
  }

  const store: EventStore = {
    async append(requests, appendOptions = {}) {
      for (const r of requests) assertAppendRequest(r);
      const prepared = await Promise.all(requests.map((r) => prepareEvents(r, personalData, options.upcasters)));
      // Everything below is synchronous, so the append is atomic with respect to other callers.
      const results: (AppendResult | undefined)[] = [];
      for (const [i, r] of requests.entries()) {
        const found = (prepared[i] ?? []).flatMap((e) => byId.get(e.eventId) ?? []).map(strip);
        results.push(replayOf({ ...r, events: (prepared[i] ?? []).map((e) => ({ ...e })) }, found));
        if (!results[i]) assertExpectedVersion(r.streamId, r.expectedVersion, streams.get(r.streamId)?.length ?? 0);
      }
      const record = appendOptions.idempotency;
      if (record && idempotency.has(record.key)) throw new IdempotencyKeyTaken(record.key);
      const seen = new Set<string>();
      for (const p of prepared.flat()) {
        if (seen.has(p.eventId)) throw new TypeError(`event id ${p.eventId} appears twice in one append`);
        seen.add(p.eventId);
      }
      const transactionId = ++transactions;
      const out: AppendResult[] = [];
      for (const [i, r] of requests.entries()) {
        const replay = results[i];
        if (replay) {
          out.push(replay);
          continue;
        }
        const stream = streams.get(r.streamId) ?? [];
        streams.set(r.streamId, stream);
        const written: RecordedEvent[] = [];
        for (const p of prepared[i] ?? []) {
          const row: Row = {
            eventId: p.eventId,
            streamId: r.streamId,
            version: stream.length + 1,
            position: rows.length + 1,
            type: p.type,
            schemaVersion: p.schemaVersion,
            data: structuredClone(p.data),
            metadata: p.metadata,
            occurredAt: new Date().toISOString(),
            transactionId,
            subjectId: p.subjectId,
          };
          rows.push(row);
          stream.push(row);
          byId.set(row.eventId, row);
          written.push(strip(row));
        }
        out.push(appendResult(r.streamId, written));
      }
      if (record) idempotency.set(record.key, { key: record.key, fingerprint: record.fingerprint, ...record.respond(out) });
      // Nothing can interleave before this point, so the erasure lands with the events.
      for (const subjectId of appendOptions.forgetSubjects ?? []) forgetNow(subjectId);
      // Reading back (decrypting, upcasting) is async, so it happens only after every write is done.
      return Promise.all(out.map(async (r) => ({ ...r, events: await read(r.events) })));
    },

    async appendToStream(streamId, events, opts = {}) {
      const [result] = await store.append([{ streamId, events, expectedVersion: opts.expectedVersion ?? "any" }], opts);
      return result as AppendResult;
    },

    async idempotencyRecord(key) {
      const r = idempotency.get(key);
      return r && structuredClone(r);
    },

    async readStream(streamId, opts = {}) {
      const from = opts.fromVersion ?? 1;
      const to = opts.toVersion ?? Number.POSITIVE_INFINITY;
      const until = opts.until?.getTime() ?? Number.POSITIVE_INFINITY;
      const events = (streams.get(streamId) ?? []).filter(
        (e) => e.version >= from && e.version <= to && Date.parse(e.occurredAt) <= until,
      );
      return read(events.map(strip));
    },

    async headPosition() {
      return rows.length;
    },

    async streamVersion(streamId) {
      return streams.get(streamId)?.length ?? 0;
    },

    async streamVersions(streamIds) {
      const found = new Map<string, number>();
      for (const id of streamIds) {
        const version = streams.get(id)?.length;
        if (version) found.set(id, version);
      }
      return found;
    },

    async readAll(opts: ReadAllOptions = {}) {
      const after: Checkpoint = opts.after ?? START;
      const afterTx = BigInt(after.transactionId);
      const limit = opts.batchSize ?? 500;
      const categories = opts.categories ? new Set(opts.categories) : undefined;
      const prefixes = opts.categoryPrefixes ?? [];
      const inCategory = (category: string) =>
        !categories || categories.has(category) || prefixes.some((p) => category.startsWith(p));
      const batch = rows
        .filter((r) => r.transactionId > afterTx || (r.transactionId === afterTx && r.position > after.position))
        .filter((r) => inCategory(streamCategory(r.streamId)))
        .filter((r) => opts.throughPosition === undefined || r.position <= opts.throughPosition)
        .slice(0, limit);
      const last = batch[batch.length - 1];
      const checkpoint = last ? { transactionId: String(last.transactionId), position: last.position } : after;
      const events = batch.map(strip);
      return { events: opts.sealed ? events : await read(events), checkpoint };
    },

    async findEvents(eventIds) {
      const found = eventIds.flatMap((id) => byId.get(id) ?? []).sort((a, b) => a.position - b.position);
      return read(found.map(strip));
    },

    async saveSnapshot(snapshot) {
      snapshots.set(snapshot.streamId, structuredClone(snapshot));
    },

    async loadSnapshot(streamId) {
      const s = snapshots.get(streamId);
      return s && structuredClone(s);
    },

    async forgetSubject(subjectId) {
      forgetNow(subjectId);
    },
  };
  return store;
}
