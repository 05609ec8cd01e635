import type { Sql } from "postgres";
import { type Checkpoint, type EventStore, START } from "../core/event-store.ts";
import { appliedVersions, bindsEvent } from "./catch-up.ts";
import type { ConsumerDefinition } from "./consumer-definition.ts";
import { categoriesOf } from "./topic-pattern.ts";

/** An event the read model should have applied by now and has not. */
export type MissingEvent = {
  kind: "missing";
  readModel: string;
  streamId: string;
  version: number;
  eventId: string;
  type: string;
  position: number;
  occurredAt: string;
};

/** A stream version the read model says it applied that the store does not have. */
export type UnknownVersion = { kind: "unknown-version"; readModel: string; streamId: string; applied: number; inStore: number };

export type AuditFinding = MissingEvent | UnknownVersion;

export type AuditDeps = {
  store: EventStore;
  /** Where the read model's applied versions live (READ_DATABASE_URL). */
  sql: Sql;
  def: ConsumerDefinition;
};

export type AuditResult = {
  /** Unapplied events older than the allowed lag, keyed by event id. */
  missing: Map<string, MissingEvent>;
  /** Streams whose applied version is beyond the store's, keyed by stream id. */
  unknown: Map<string, UnknownVersion>;
  /** Where a next, incremental audit goes on from: every event up to here was older than the lag. */
  checkpoint: Checkpoint;
  /** Whether the walk got to the events younger than the lag (or the end of the log). */
  complete: boolean;
  eventsChecked: number;
};

/** Versions a read model claims beyond what the store holds, for these streams. */
async function unknownVersions(deps: AuditDeps, applied: Map<string, number>): Promise<UnknownVersion[]> {
  const claims = [...applied].filter(([, v]) => v > 0);
  if (claims.length === 0) return [];
  const inStore = await deps.store.streamVersions(claims.map(([id]) => id));
  return claims.flatMap(([streamId, version]) => {
    const stored = inStore.get(streamId) ?? 0;
    return version > stored
      ? [{ kind: "unknown-version" as const, readModel: deps.def.name, streamId, applied: version, inStore: stored }]
      : [];
  });
}

/**
 * Compares the store with a read model's applied versions: every event it binds that is older than
 * `lagMs` must be at or below its stream's applied version, and no applied version may exceed the
 * store's. Walks the log (gap-safe) from `after`; `missing` carried from an earlier audit is checked again,
 * so the consumer process can run this incrementally and the CLI from the start.
 */
export async function auditReadModel(
  deps: AuditDeps,
  options: {
    lagMs: number;
    after?: Checkpoint;
    missing?: Map<string, MissingEvent>;
    unknown?: Map<string, UnknownVersion>;
    batchSize?: number;
    maxBatches?: number;
    /** Stops walking once this long has passed (the next walk goes on from the checkpoint). */
    budgetMs?: number;
  },
): Promise<AuditResult> {
  const { store, sql, def } = deps;
  const categories = categoriesOf(def.bindings);
  const cutoff = Date.now() - options.lagMs;
  const missing = new Map(options.missing ?? []);
  const unknown = new Map<string, UnknownVersion>();
  let checkpoint = options.after ?? START;
  let eventsChecked = 0;
  let complete = false;

  // What was missing before may have been applied since (a retry, the sweep, an operator's replay), and
  // a version claimed beyond the store may have been reached or put right.
  if (missing.size > 0) {
    const applied = await appliedVersions(
      sql,
      def.name,
      [...missing.values()].map((m) => m.streamId),
    );
    for (const [id, m] of missing) if (m.version <= (applied.get(m.streamId) ?? 0)) missing.delete(id);
  }
  if (options.unknown?.size) {
    const applied = await appliedVersions(sql, def.name, [...options.unknown.keys()]);
    for (const u of await unknownVersions(deps, applied)) unknown.set(u.streamId, u);
  }

  const started = Date.now();
  for (let i = 0; i < (options.maxBatches ?? Number.POSITIVE_INFINITY); i++) {
    if (options.budgetMs !== undefined && Date.now() - started > options.budgetMs) break;
    const batch = await store.readAll({ after: checkpoint, batchSize: options.batchSize ?? 1000, ...categories, sealed: true });
    const old = batch.events.filter((e) => Date.parse(e.occurredAt) <= cutoff);
    const due = old.filter((e) => bindsEvent(def, e));
    const applied = await appliedVersions(
      sql,
      def.name,
      due.map((e) => e.streamId),
    );
    for (const e of due) {
      if (e.version > (applied.get(e.streamId) ?? 0))
        missing.set(e.eventId, {
          kind: "missing",
          readModel: def.name,
          streamId: e.streamId,
          version: e.version,
          eventId: e.eventId,
          type: e.type,
          position: e.position,
          occurredAt: e.occurredAt,
        });
    }
    for (const u of await unknownVersions(deps, applied)) unknown.set(u.streamId, u);
    eventsChecked += due.length;
    // A batch with events younger than the lag is looked at again next time, from its start.
    if (batch.events.length === 0 || old.length < batch.events.length) {
      complete = true;
      break;
    }
    checkpoint = batch.checkpoint;
  }
  return { missing, unknown, checkpoint, complete, eventsChecked };
}

/**
 * Every stream version the read model claims, against the store, a page at a time: what a walk of the
 * log cannot see (a stream the store does not have at all).
 */
export async function auditClaims(deps: AuditDeps, pageSize = 1000): Promise<UnknownVersion[]> {
  const found: UnknownVersion[] = [];
  let after = "";
  for (;;) {
    const rows = await deps.sql<{ stream_id: string; version: number }[]>`
      select stream_id, version from eventline_consumer_streams
      where consumer = ${deps.def.name} and stream_id > ${after} order by stream_id limit ${pageSize}`;
    found.push(...(await unknownVersions(deps, new Map(rows.map((r) => [r.stream_id, r.version])))));
    if (rows.length < pageSize) return found;
    after = rows[rows.length - 1]?.stream_id ?? after;
  }
}

/** The full audit the CLI runs: the whole log, then every claim; findings sorted by position and stream. */
export async function auditFromStart(
  deps: AuditDeps,
  lagMs: number,
): Promise<{ findings: AuditFinding[]; eventsChecked: number }> {
  const walk = await auditReadModel(deps, { lagMs });
  const claims = await auditClaims(deps);
  return {
    findings: [...[...walk.missing.values()].sort((a, b) => a.position - b.position), ...claims],
    eventsChecked: walk.eventsChecked,
  };
}
