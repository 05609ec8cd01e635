import type { ChannelModel } from "amqplib";
import { withBrokerConnection } from "../broker/amqp-connection.ts";
import type { Sql } from "postgres";
import { EventlineError, NotFoundError } from "../core/errors.ts";
import type { EventStore } from "../core/event-store.ts";
import { auditFromStart } from "../consumers/audit.ts";
import { consumerLag } from "../consumers/catch-up.ts";
import { type ConsumerDefinition, liveTables } from "../consumers/consumer-definition.ts";
import { countDeadLetters, listDeadLetters, purgeDeadLetters, replayDeadLetters } from "../consumers/dead-letters.ts";
import { rebuildReadModel } from "../consumers/rebuild.ts";
import type { AdminDeps, ConsoleReads, RebuildStatus } from "../http/admin-routes.ts";
import { redactSealed } from "../core/personal-data.ts";
import { findSaga } from "../sagas/saga-store.ts";
import { readStreamRows } from "../store/read-stream.ts";
import type { Logger } from "../log.ts";
import { outboxStatus, releaseAllStreams, releaseStream } from "../outbox/outbox-queries.ts";
import { listSagas, retrySaga } from "../sagas/saga-store.ts";

export type AdminWiring = {
  /** The connections lead through a transaction pooler, where a rebuild's session lock cannot hold. */
  pooled?: boolean;
  /** The write database (events, outbox) and the read database (read models, inboxes, sagas). */
  sql: Sql;
  readSql: Sql;
  store: EventStore;
  readModels: ConsumerDefinition[];
  /** How old an unapplied event must be before the console's audit counts it (AUDIT_LAG_SECONDS). */
  auditLagMs?: number;
  /** The sagas' types: their starters are consumers with inboxes too. */
  sagaTypes?: string[];
  amqpUrls: string[];
  queuePrefix: string;
  notifyChannel: string;
  log: Logger;
};

/** The app's read model of that name; an unknown one is a 404. */
function readModelNamed(w: AdminWiring, name: string): ConsumerDefinition {
  const def = w.readModels.find((d) => d.name === name);
  if (!def) throw new NotFoundError("read model", name);
  return def;
}

/** The admin routes' dependencies on the real components: the one wiring the API process and its tests share. */
export function createAdminDeps(w: AdminWiring): AdminDeps & { console: ConsoleReads } {
  const withBroker = <T>(work: (conn: ChannelModel) => Promise<T>) => withBrokerConnection(w.amqpUrls, work);
  const rebuilds: Record<string, RebuildStatus> = {};
  return {
    console: consoleReads(w, withBroker, rebuilds),
    outboxStatus: () => outboxStatus(w.sql),
    releaseStream: (streamId) => releaseStream(w.sql, streamId, w.notifyChannel),
    releaseAll: () => releaseAllStreams(w.sql, w.notifyChannel),
    consumers: () =>
      Promise.all(w.readModels.map((def) => consumerLag({ sql: w.readSql, store: w.store, def, tables: liveTables(def) }))),
    deadLetters: {
      list: (name) => withBroker((conn) => listDeadLetters(conn, readModelNamed(w, name).name, w.queuePrefix)),
      replay: (name, ids) => withBroker((conn) => replayDeadLetters(conn, readModelNamed(w, name).name, ids, w.queuePrefix)),
      purge: (name) => withBroker((conn) => purgeDeadLetters(conn, readModelNamed(w, name).name, w.queuePrefix)),
    },
    sagas: {
      list: (status) => listSagas(w.readSql, status),
      retry: async (id) => {
        if (!(await retrySaga(w.readSql, id, `${w.notifyChannel}_sagas`))) throw new NotFoundError("saga needing attention", id);
      },
    },
    // Answers once the rebuild holds its lock (or is refused one), then lets it run in the background.
    rebuild: (name) =>
      new Promise<void>((started, refused) => {
        if (w.pooled)
          throw new EventlineError(
            "DIRECT_CONNECTION_REQUIRED",
            "a rebuild holds a session lock: run it with a direct connection",
          );
        const def = readModelNamed(w, name);
        const onLocked = () => {
          rebuilds[name] = { percent: 0, applied: 0, state: "running" };
          w.log("info", "rebuild started", { readModel: name });
          started();
        };
        const onProgress = (p: { percent: number; applied: number }) => {
          rebuilds[name] = { percent: p.percent, applied: p.applied, state: "running" };
        };
        rebuildReadModel({ sql: w.readSql, store: w.store, def, onLocked, onProgress }).then(
          (r) => {
            rebuilds[name] = { percent: 100, applied: r.applied, state: "done" };
            w.log("info", "rebuild finished", { readModel: name, applied: r.applied });
          },
          (error) => {
            refused(error);
            if (rebuilds[name]?.state === "running")
              rebuilds[name] = { ...rebuilds[name], state: "failed", error: String(error) };
            w.log("error", "rebuild failed", { readModel: name, error: String(error) });
          },
        );
      }),
  };
}

/** What only the console reads, on the same components. */
function consoleReads(
  w: AdminWiring,
  withBroker: <T>(work: (conn: ChannelModel) => Promise<T>) => Promise<T>,
  rebuilds: Record<string, RebuildStatus>,
): ConsoleReads {
  return {
    async eventsPerMinute() {
      // Bounded to the log's tail: there is no index on time, and the last hour is at its end. Every
      // minute of the hour is in the answer, those without events as 0.
      const rows = await w.sql<{ minute: string; count: number }[]>`
        with counted as (
          select date_trunc('minute', occurred_at) as m, count(*)::int as n
          from eventline_events
          where position > (select coalesce(max(position), 0) - 200000 from eventline_events)
            and occurred_at > now() - interval '1 hour'
          group by 1
        )
        select to_char(g.m at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:00"Z"') as minute, coalesce(c.n, 0) as count
        from generate_series(date_trunc('minute', now()) - interval '59 minutes', date_trunc('minute', now()), interval '1 minute') as g(m)
        left join counted c on c.m = g.m
        order by g.m`;
      return rows.map((r) => ({ minute: r.minute, count: r.count }));
    },
    async sagasByStatus() {
      const rows = await w.readSql<{ status: string; n: number }[]>`
        select status, count(*)::int as n from eventline_saga_instances group by status`;
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
    deadLetterCounts: () =>
      withBroker(async (conn) => {
        // One connection for every count: a channel each, closed at once.
        const counts: Record<string, number> = {};
        for (const def of w.readModels) counts[def.name] = await countDeadLetters(conn, def.name, w.queuePrefix);
        return counts;
      }),
    async stream(streamId, { opened, fromVersion, limit }) {
      const range = { fromVersion, toVersion: fromVersion + limit - 1 };
      if (opened) return w.store.readStream(streamId, range);
      const rows = await readStreamRows(w.sql, streamId, range);
      return rows.map((e) => ({ ...e, data: redactSealed(e.data) }));
    },
    async streams(category, limit) {
      const rows = await w.sql<{ stream_id: string }[]>`
        select stream_id from (
          select stream_id, position from eventline_events where category = ${category} order by position desc limit 10000
        ) recent group by stream_id order by max(position) desc limit ${limit}`;
      return rows.map((r) => r.stream_id);
    },
    async touched(eventIds) {
      const touched: Record<string, { consumers: string[]; sagas: string[] }> = {};
      for (const id of eventIds) touched[id] = { consumers: [], sagas: [] };
      if (eventIds.length === 0) return touched;
      // One query each for the page, on the inbox's (consumer, event_id) key and the instances' started_by.
      const names = [...w.readModels.map((d) => d.name), ...(w.sagaTypes ?? [])];
      const applied = await w.readSql<{ consumer: string; event_id: string }[]>`
        select consumer, event_id::text from eventline_inbox
        where consumer = any(${names}::text[]) and event_id = any(${eventIds}::uuid[]) order by consumer`;
      for (const r of applied) touched[r.event_id]?.consumers.push(r.consumer);
      const started = await w.readSql<{ saga_id: string; started_by: string }[]>`
        select saga_id, started_by::text from eventline_saga_instances where started_by = any(${eventIds}::uuid[]) order by saga_id`;
      for (const r of started) touched[r.started_by]?.sagas.push(r.saga_id);
      return touched;
    },
    saga: (sagaId) => findSaga(w.readSql, sagaId),
    forgetSubject: (subjectId) => w.store.forgetSubject(subjectId),
    audit: (name) => auditFromStart({ store: w.store, sql: w.readSql, def: readModelNamed(w, name) }, w.auditLagMs ?? 60_000),
    rebuilds: () => rebuilds,
  };
}
