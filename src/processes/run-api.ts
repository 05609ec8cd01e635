import { withBrokerConnection } from "../broker/amqp-connection.ts";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { createApp } from "../http/create-app.ts";
import { createJwtAuthenticator } from "../http/auth/jwt-authenticator.ts";
import { createTokenVerifier } from "../http/auth/authenticate.ts";
import { createConsoleRoutes } from "../http/console/console-routes.tsx";
import { loadState } from "../core/load-state.ts";
import { streamCategory } from "../core/messages.ts";
import { assertHorizonMoving } from "../store/horizon.ts";
import { horizonGauge } from "./horizon-gauge.ts";
import { createAdminDeps } from "./admin-deps.ts";
import { binOf } from "./commands.ts";
import { tokenUsage } from "./run-token.ts";
import { onShutdown, type ProcessContext, wireProcess } from "./process-kit.ts";

/** The API process: the app's routes, operations and admin routes, on HOST:PORT. */
export async function runApi(ctx: ProcessContext): Promise<void> {
  const { config, log } = ctx;
  const wired = wireProcess(ctx, "api");
  const { db } = wired;
  await wired.ensureReadModels();
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

  const admin = createAdminDeps({
    pooled: config.databasePooler === "transaction",
    sql: db.sql,
    readSql: db.readSql,
    store: wired.store,
    readModels: wired.readModels,
    sagaTypes: wired.sagas().map((saga) => saga.type),
    auditLagMs: config.auditLagMs,
    amqpUrls: config.amqpUrls,
    queuePrefix: config.consumer.queuePrefix,
    notifyChannel: config.notifyChannel,
    log,
  });
  const auth = { authenticator: createJwtAuthenticator(config.auth.jwt), adminToken: config.adminToken, realm: ctx.app.name };
  const deciders = ctx.app.deciders ?? {};
  const consoleRoutes = createConsoleRoutes({
    app: ctx.app.name,
    admin,
    verify: createTokenVerifier(auth),
    stateAsOf: async (streamId, version) => {
      const decider = deciders[streamCategory(streamId)];
      return decider ? (await loadState(wired.store, decider, streamId, { version })).state : undefined;
    },
  });
  const app = createApp({
    ready: async () => {
      await assertHorizonMoving(db.sql, config.horizonStallSeconds);
      if (db.readSql !== db.sql) await db.readSql`select 1`;
      await withBrokerConnection(config.amqpUrls, async (conn) => (await conn.createChannel()).close());
    },
    metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    observe: (method, status, seconds) => {
      requests.inc({ method, status: String(status) });
      latency.observe({ method }, seconds);
    },
    log,
    auth,
    corsOrigins: config.auth.corsOrigins,
    routes: [...wired.routes(), consoleRoutes],
    openapi: ctx.app.openapi ?? { title: `${ctx.app.name} API`, version: "0.0.0" },
    admin,
  });
  const server = ctx.serve(app.fetch, config.host, config.port);
  log("info", "api listening", { url: server.url });
  if (config.auth.devSecret)
    log(
      "warn",
      `bearer tokens are checked against the development secret; get one with: ${binOf(ctx.app)} ${tokenUsage(ctx.app)}`,
    );
  onShutdown(log, async () => {
    await server.stop();
    await db.end();
  });
}
