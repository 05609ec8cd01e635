import amqp from "amqplib";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { NotFoundError } from "../core/errors.ts";
import { consumerLag } from "../consumers/catch-up.ts";
import { liveTables } from "../consumers/consumer-definition.ts";
import { listDeadLetters, purgeDeadLetters, replayDeadLetters } from "../consumers/dead-letters.ts";
import { rebuildReadModel } from "../consumers/rebuild.ts";
import { createApp } from "../http/create-app.ts";
import { outboxStatus, releaseStream } from "../outbox/outbox-queries.ts";
import { listSagas, retrySaga } from "../sagas/saga-store.ts";
import { createShop } from "../shop/create-shop.ts";
import { assertHorizonMoving } from "../store/horizon.ts";
import { horizonGauge } from "./horizon-gauge.ts";
import { databases, onShutdown, type ProcessContext } from "./process-kit.ts";

/** The API process: the shop's commands and queries, operations and admin routes, on HOST:PORT. */
export async function runApi(ctx: ProcessContext): Promise<void> {
  const { config, log } = ctx;
  const db = databases(config, "api");
  const shop = createShop({ sql: db.sql, readSql: db.readSql, notifyChannel: config.notifyChannel });
  await shop.ensureReadModels();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  horizonGauge(registry, db.sql);
  const requests = new Counter({
    name: "eventline_http_requests_total",
    help: "HTTP requests",
    labelNames: ["method", "status"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "eventline_http_request_seconds",
    help: "HTTP request duration",
    labelNames: ["method"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const withBroker = async <T>(work: (conn: amqp.ChannelModel) => Promise<T>): Promise<T> => {
    const conn = await amqp.connect(config.amqpUrl);
    try {
      return await work(conn);
    } finally {
      await conn.close();
    }
  };
  const readModel = (name: string) => {
    const def = shop.readModels.find((d) => d.name === name);
    if (!def) throw new NotFoundError("read model", name);
    return def;
  };

  const app = createApp({
    ready: async () => {
      await assertHorizonMoving(db.sql, config.horizonStallSeconds);
      if (db.readSql !== db.sql) await db.readSql`select 1`;
      await withBroker(async (conn) => (await conn.createChannel()).close());
    },
    metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    observe: (method, status, seconds) => {
      requests.inc({ method, status: String(status) });
      latency.observe({ method }, seconds);
    },
    log,
    routes: [shop.routes],
    admin: {
      token: config.adminToken,
      outboxStatus: () => outboxStatus(db.sql),
      releaseStream: (streamId) => releaseStream(db.sql, streamId, config.notifyChannel),
      consumers: () =>
        Promise.all(
          shop.readModels.map((def) => consumerLag({ sql: db.readSql, store: shop.store, def, tables: liveTables(def) })),
        ),
      deadLetters: {
        list: (name) => withBroker((conn) => listDeadLetters(conn, readModel(name).name, config.consumer.queuePrefix)),
        replay: (name, ids) =>
          withBroker((conn) => replayDeadLetters(conn, readModel(name).name, ids, config.consumer.queuePrefix)),
        purge: (name) => withBroker((conn) => purgeDeadLetters(conn, readModel(name).name, config.consumer.queuePrefix)),
      },
      sagas: {
        list: (status) => listSagas(db.readSql, status),
        retry: async (id) => {
          if (!(await retrySaga(db.readSql, id, `${config.notifyChannel}_sagas`)))
            throw new NotFoundError("saga needing attention", id);
        },
      },
      rebuild: async (name) => {
        const def = readModel(name);
        log("info", "rebuild started", { readModel: name });
        rebuildReadModel({ sql: db.readSql, store: shop.store, def }).then(
          (r) => log("info", "rebuild finished", { readModel: name, applied: r.applied }),
          (error) => log("error", "rebuild failed", { readModel: name, error: String(error) }),
        );
      },
    },
  });
  const server = ctx.serve(app.fetch, config.host, config.port);
  log("info", "api listening", { url: server.url });
  onShutdown(log, async () => {
    await server.stop();
    await db.end();
  });
}
