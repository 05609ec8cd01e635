import { loadConfig } from "../config.ts";
import { createJwtAuthenticator } from "../http/auth/jwt-authenticator.ts";
import { createApp } from "../http/create-app.ts";
import { createLogger } from "../log.ts";
import type { AppDefinition } from "./define-app.ts";
import { databases } from "./process-kit.ts";
import { registerTracePropagation } from "./trace-propagation.ts";
import { wireApp } from "./wire-app.ts";

/** What an isolate runtime hands a fetch handler: its bindings, and a way to finish work after answering. */
export type EdgeEnv = Record<string, unknown> & { HYPERDRIVE?: { connectionString: string } };
export type EdgeContext = { waitUntil(promise: Promise<unknown>): void };

/**
 * The app's API as a fetch handler for isolates (Cloudflare Workers, Deno Deploy): the same routes,
 * authentication and problem answers as the `api` process, without RabbitMQ. A socket may serve only the
 * request that opened it, so each request gets its own connection (through Hyperdrive's
 * `connectionString` when bound, else DATABASE_URL, a transaction pooler), closed once answered; the
 * configuration and the verified-token memory live as long as the isolate.
 */
export function createEdgeHandler<C, S>(app: AppDefinition<C, S>) {
  let settings: ReturnType<typeof load> | undefined;
  function load(env: Record<string, string | undefined>) {
    const config = loadConfig(env, app.faults, { broker: false });
    const appConfig = app.config ? app.config(env) : (undefined as C);
    registerTracePropagation();
    const log = createLogger({ app: app.name, role: "api" }, config.logLevel, undefined, config.logFormat);
    return { config, appConfig, log, authenticator: createJwtAuthenticator(config.auth.jwt) };
  }
  return async (request: Request, bindings: EdgeEnv = {}, ctx?: EdgeContext): Promise<Response> => {
    if (!settings) {
      const env = Object.fromEntries(Object.entries(bindings).filter(([, v]) => typeof v === "string")) as Record<string, string>;
      if (bindings.HYPERDRIVE) env.DATABASE_URL = bindings.HYPERDRIVE.connectionString;
      // An isolate is reachable from anywhere: no HOST means not loopback, so the development secret
      // needs EVENTLINE_ENV=development by name.
      env.HOST ??= "0.0.0.0";
      settings = load(env);
    }
    const { config, appConfig, log, authenticator } = settings;
    // The api's own connections (pooled or with its schema and timeouts), one of each per request.
    const db = databases(config, "api", 1, app.name);
    const { sql, readSql } = db;
    try {
      const wired = wireApp(app, { sql, readSql, role: "api", log, appConfig, notifyChannel: config.notifyChannel });
      const http = createApp({
        ready: async () => {
          await sql`select 1`;
        },
        log,
        auth: { authenticator, adminToken: config.adminToken, realm: app.name },
        corsOrigins: config.auth.corsOrigins,
        routes: wired.routes(),
        openapi: app.openapi ?? { title: `${app.name} API`, version: "0.0.0" },
      });
      return await http.fetch(request);
    } finally {
      const closing = db.end();
      if (ctx) ctx.waitUntil(closing);
      else await closing;
    }
  };
}
