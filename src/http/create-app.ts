import { Scalar } from "@scalar/hono-api-reference";
import { Hono } from "hono";
import { describeRoute, openAPIRouteHandler } from "hono-openapi";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { routePath } from "hono/route";
import { secureHeaders } from "hono/secure-headers";
import { AuthenticationError, EventlineError, errorMessage } from "../core/errors.ts";
import { contextFromHeaders, inSpan, markFailed, SpanKind, type TraceContext, traceIdOf } from "../core/telemetry.ts";
import { type AdminDeps, createAdminRoutes } from "./admin-routes.ts";
import { authenticate } from "./auth/authenticate.ts";
import type { Authenticator } from "./auth/identity.ts";
import { jsonBody } from "./json-body.ts";
import { problem, problemFor } from "./problem.ts";

/** What the HTTP layer needs from the outside world; every dependency is passed in, none is global. */
export type AppDeps = {
  /** Round trips to Postgres and RabbitMQ; resolve when both answer. */
  ready: () => Promise<void>;
  /** Prometheus text of this process's metrics. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  log?: (level: "info" | "error" | "warn", message: string, fields: Record<string, unknown>) => void;
  /** Called once per request, for metrics. */
  observe?: (method: string, status: number, seconds: number) => void;
  admin?: AdminDeps;
  /**
   * Who is calling: bearer JWTs through `authenticator`, and the operator's ADMIN_TOKEN as the admin role.
   * Without either, every request is anonymous and routes that need someone answer 401.
   */
  auth?: { authenticator?: Authenticator; adminToken?: string; realm?: string };
  /** Origins allowed to call from a browser; none (the default) sends no CORS headers at all. */
  corsOrigins?: string[];
  /** The application's own routes. */
  routes?: Hono[];
  /** The OpenAPI document's info: the app's title, version and description. */
  openapi?: { title: string; version: string; description?: string };
};

declare module "hono" {
  interface ContextVariableMap {
    /** The request span's context: what a command's span and events continue. */
    traceContext?: TraceContext;
  }
}

const PROBLEM = { "content-type": "application/problem+json" };

/** The Hono app. Runtime-agnostic: no Bun or Deno API in its import graph, so it serves on either. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use(requestId());
  app.use((c, next) =>
    // The request's span continues the caller's trace (its traceparent); commands take it on as their parent.
    inSpan(
      c.req.method,
      {
        kind: SpanKind.SERVER,
        parent: contextFromHeaders(c.req.raw.headers),
        attributes: { "http.request.method": c.req.method, "url.path": c.req.path },
      },
      async (span, ctx) => {
        c.set("traceContext", ctx);
        const started = performance.now();
        await next();
        const seconds = (performance.now() - started) / 1000;
        const route = routePath(c, -1);
        span.updateName(`${c.req.method} ${route}`);
        span.setAttributes({ "http.route": route, "http.response.status_code": c.res.status });
        if (c.res.status >= 500) markFailed(span, `answered ${c.res.status}`);
        deps.observe?.(c.req.method, c.res.status, seconds);
        // Only ids and the path: bodies (which may hold personal data) are never logged.
        deps.log?.("info", "request", {
          requestId: c.get("requestId"),
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          ms: Math.round(seconds * 1000),
          correlationId: c.req.header("x-correlation-id") ?? c.get("requestId"),
          traceId: traceIdOf(ctx),
        });
      },
    ),
  );
  app.use(secureHeaders());
  if (deps.corsOrigins?.length)
    app.use(
      cors({
        origin: deps.corsOrigins,
        allowHeaders: [
          "authorization",
          "content-type",
          "idempotency-key",
          "if-match",
          "x-correlation-id",
          "traceparent",
          "tracestate",
        ],
        exposeHeaders: ["etag", "eventline-freshness", "idempotent-replayed", "x-request-id"],
        maxAge: 600,
      }),
    );
  app.use(authenticate(deps.auth ?? {}));
  app.use(jsonBody);

  const ops = (summary: string, responses: Record<number, string>) =>
    describeRoute({
      tags: ["operations"],
      summary,
      responses: Object.fromEntries(Object.entries(responses).map(([status, description]) => [status, { description }])),
    });
  app.get("/health", ops("The process is up", { 200: "up" }), (c) => c.json({ status: "ok" }));
  app.get(
    "/ready",
    ops("Postgres and RabbitMQ answer a round trip", { 200: "ready", 503: "a dependency is down" }),
    async (c) => {
      try {
        await deps.ready();
        return c.json({ status: "ready" });
      } catch (error) {
        // eventline's own findings (what holds the horizon back) are written for the probe; a driver's
        // message can carry SQL, hosts or user names, so it stays in the log.
        deps.log?.("warn", "not ready", { requestId: c.get("requestId"), error: errorMessage(error) });
        const detail = error instanceof EventlineError ? error.message : "a dependency did not answer; the log says which";
        return c.json({ status: "not ready", detail }, 503);
      }
    },
  );
  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get("/metrics", ops("Prometheus metrics", { 200: "text exposition format" }), async (c) => {
      const m = await metrics();
      return c.text(m.body, 200, { "content-type": m.contentType });
    });
  }
  if (deps.admin) app.route("/", createAdminRoutes(deps.admin));
  for (const routes of deps.routes ?? []) app.route("/", routes);

  app.get(
    "/openapi.json",
    openAPIRouteHandler(app, {
      documentation: {
        openapi: "3.1.0",
        info: deps.openapi ?? { title: "eventline API", version: "0.0.0" },
        components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
        security: [{ bearer: [] }],
      },
      exclude: ["/openapi.json", "/docs"],
    }),
  );
  // The reference page has a field for the bearer token, so every route can be tried from it.
  app.get(
    "/docs",
    Scalar({
      url: "/openapi.json",
      pageTitle: deps.openapi?.title ?? "eventline API",
      authentication: { preferredSecurityScheme: "bearer" },
    }),
  );

  app.notFound((c) => c.json(problem(404, `no route ${c.req.method} ${c.req.path}`), 404, PROBLEM));
  app.onError((error, c) => {
    const p = problemFor(error, c.get("requestId"));
    if (p.status === 401) {
      const reason = error instanceof AuthenticationError && error.reason ? `, error="${error.reason}"` : "";
      c.header("www-authenticate", `Bearer realm="${deps.auth?.realm ?? "eventline"}"${reason}`);
    }
    if (p.status >= 500)
      deps.log?.("error", "request failed", {
        requestId: c.get("requestId"),
        error: String(error),
        stack: (error as Error).stack,
      });
    return c.json(p, p.status, PROBLEM);
  });
  return app;
}
