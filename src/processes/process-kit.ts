import { Hono } from "hono";
import type { Registry } from "prom-client";
import type { Config } from "../config.ts";
import { ConfigError } from "../core/errors.ts";
import type { Liveness } from "../core/liveness.ts";
import type { Logger } from "../log.ts";
import { connect, type SessionTimeouts } from "../store/connect.ts";
import type { AppDefinition } from "./define-app.ts";
import { watchLiveness } from "./watch-liveness.ts";
import { wireApp } from "./wire-app.ts";

/**
 * A process's Postgres session limits: what the environment says, else its role's default. The API answers
 * people, so a statement gets 5 s; the others run batches, 30 s. A lock is waited for 5 s and an idle
 * transaction kept 60 s everywhere: a relay stuck mid-batch then gives its partitions up, and one locked
 * row cannot stall the batches queued behind it for ever.
 */
export function sessionTimeouts(config: Config, role: string): SessionTimeouts {
  return {
    statementMs: config.dbTimeouts.statementMs ?? (role === "api" ? 5_000 : 30_000),
    lockMs: config.dbTimeouts.lockMs ?? 5_000,
    idleInTransactionMs: config.dbTimeouts.idleInTransactionMs ?? 60_000,
  };
}

/** Starts an HTTP server; main.ts passes Bun's server, deno.ts passes Deno's. */
export type Serve = (
  fetch: (req: Request) => Response | Promise<Response>,
  host: string,
  port: number,
) => { url: string; stop(): Promise<void> };

// biome-ignore lint/suspicious/noExplicitAny: a process runs whichever app it is given.
export type AnyApp = AppDefinition<any, any>;

/** What every process runner gets: eventline's config, the app's own, a log, a way to serve HTTP, and the app. */
export type ProcessContext = { config: Config; appConfig: unknown; log: Logger; serve: Serve; app: AnyApp };

/** Connects a process to its databases and wires the app on them; `end()` closes the connections. */
export function wireProcess(ctx: ProcessContext, role: string, poolMax?: number) {
  const db = databases(ctx.config, role, poolMax, ctx.app.name);
  const wired = wireApp(ctx.app, {
    sql: db.sql,
    readSql: db.readSql,
    notifyChannel: ctx.config.notifyChannel,
    role,
    log: ctx.log,
    fault: ctx.config.fault,
    appConfig: ctx.appConfig,
  });
  return { ...wired, db, end: () => db.end() };
}

/** The write database (events) and, when configured apart, the read database (read models and inboxes). */
export function databases(config: Config, name: string, max = config.dbPoolMax, appName = "eventline") {
  const pooled = config.databasePooler === "transaction";
  // Only the API is pooler-safe: the relay and saga LISTEN, consumers hold long transactions, and the
  // CLI's rebuild holds a session lock.
  if (pooled && name !== "api")
    throw new ConfigError([
      `DATABASE_POOLER=transaction is for the api; the ${name} needs a direct connection (it LISTENs or holds long transactions)`,
    ]);
  const timeouts = sessionTimeouts(config, name);
  const sql = connect(config.databaseUrl, {
    max,
    applicationName: `${appName}-${name}`,
    schema: config.databaseSchema,
    timeouts,
    pooled,
  });
  const readSql =
    config.readDatabaseUrl === config.databaseUrl
      ? sql
      : connect(config.readDatabaseUrl, {
          max,
          applicationName: `${appName}-${name}-read`,
          schema: config.databaseSchema,
          timeouts,
          pooled,
        });
  return {
    sql,
    readSql,
    async end() {
      await sql.end({ timeout: 5 });
      if (readSql !== sql) await readSql.end({ timeout: 5 });
    },
  };
}

/**
 * A long-running process's own small port: /health and /metrics, so each can be probed and scraped. With
 * a liveness, /health answers 503 while a part is stalled (work waiting, no progress for
 * EVENTLINE_STALL_SECONDS), and the process exits 1 once one has been stalled EVENTLINE_STALL_EXIT_SECONDS.
 */
export function serveProbe(ctx: ProcessContext, port: number, registry: Registry, liveness?: Liveness) {
  const probe = new Hono();
  const watch = liveness && watchLiveness(liveness, { exitAfterMs: ctx.config.stall.exitAfterMs, log: ctx.log, registry });
  probe.get("/health", (c) => {
    const report = liveness?.report();
    if (report && !report.live) return c.json({ status: "stalled", stalled: report.stalled }, 503);
    return c.json({ status: "ok" });
  });
  probe.get("/metrics", async (c) => c.text(await registry.metrics(), 200, { "content-type": registry.contentType }));
  const server = ctx.serve(probe.fetch, ctx.config.host, port);
  ctx.log("info", "probe listening", { url: server.url });
  return {
    url: server.url,
    async stop() {
      watch?.stop();
      await server.stop();
    },
  };
}

let shuttingDown = false;
const lastWork: (() => Promise<void>)[] = [];

/** Work a graceful stop does after the process's own `stop` (sending the last spans, say). */
export function beforeExit(work: () => Promise<void>): void {
  lastWork.push(work);
}

const settleWithin = (work: Promise<unknown>, ms: number) =>
  Promise.race([work.catch(() => {}), new Promise((resolve) => setTimeout(resolve, ms))]);

/** Whether a graceful shutdown is under way (start-up work cut short by it may fail harmlessly). */
export function isShuttingDown(): boolean {
  return shuttingDown;
}

/** Stops the process gracefully on SIGINT or SIGTERM: `stop` finishes in-flight work, then exit 0. */
export function onShutdown(log: Logger, stop: () => Promise<void>, deadlineMs = 15_000): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (shuttingDown) return;
      shuttingDown = true;
      log("info", "shutting down", { signal });
      const deadline = setTimeout(() => {
        log("error", "shutdown deadline passed, exiting");
        process.exit(1);
      }, deadlineMs);
      stop().then(
        async () => {
          for (const work of lastWork) await settleWithin(work(), 5_000);
          clearTimeout(deadline);
          process.exit(0);
        },
        (error) => {
          log("error", "shutdown failed", { error: String(error) });
          process.exit(1);
        },
      );
    });
  }
}
