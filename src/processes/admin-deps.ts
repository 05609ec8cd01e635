import type { ChannelModel } from "amqplib";
import { withBrokerConnection } from "../broker/amqp-connection.ts";
import type { Sql } from "postgres";
import { EventlineError, NotFoundError } from "../core/errors.ts";
import type { EventStore } from "../core/event-store.ts";
import { consumerLag } from "../consumers/catch-up.ts";
import { type ConsumerDefinition, liveTables } from "../consumers/consumer-definition.ts";
import { listDeadLetters, purgeDeadLetters, replayDeadLetters } from "../consumers/dead-letters.ts";
import { rebuildReadModel } from "../consumers/rebuild.ts";
import type { AdminDeps } from "../http/admin-routes.ts";
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
  amqpUrl: string;
  queuePrefix: string;
  notifyChannel: string;
  log: Logger;
};

/** The admin routes' dependencies on the real components: the one wiring the API process and its tests share. */
export function createAdminDeps(w: AdminWiring): AdminDeps {
  const withBroker = <T>(work: (conn: ChannelModel) => Promise<T>) => withBrokerConnection(w.amqpUrl, work);
  const readModel = (name: string) => {
    const def = w.readModels.find((d) => d.name === name);
    if (!def) throw new NotFoundError("read model", name);
    return def;
  };
  return {
    outboxStatus: () => outboxStatus(w.sql),
    releaseStream: (streamId) => releaseStream(w.sql, streamId, w.notifyChannel),
    releaseAll: () => releaseAllStreams(w.sql, w.notifyChannel),
    consumers: () =>
      Promise.all(w.readModels.map((def) => consumerLag({ sql: w.readSql, store: w.store, def, tables: liveTables(def) }))),
    deadLetters: {
      list: (name) => withBroker((conn) => listDeadLetters(conn, readModel(name).name, w.queuePrefix)),
      replay: (name, ids) => withBroker((conn) => replayDeadLetters(conn, readModel(name).name, ids, w.queuePrefix)),
      purge: (name) => withBroker((conn) => purgeDeadLetters(conn, readModel(name).name, w.queuePrefix)),
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
        const def = readModel(name);
        const onLocked = () => {
          w.log("info", "rebuild started", { readModel: name });
          started();
        };
        rebuildReadModel({ sql: w.readSql, store: w.store, def, onLocked }).then(
          (r) => w.log("info", "rebuild finished", { readModel: name, applied: r.applied }),
          (error) => {
            refused(error);
            w.log("error", "rebuild failed", { readModel: name, error: String(error) });
          },
        );
      }),
  };
}
