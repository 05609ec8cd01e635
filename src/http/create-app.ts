import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { problemFor } from "./problem.ts";

/** What the HTTP layer needs from the outside world; every dependency is passed in, none is global. */
export type AppDeps = {
  /** Round trips to Postgres and RabbitMQ; resolve when both answer. */
  ready: () => Promise<void>;
  log?: (level: "error", message: string, fields: Record<string, unknown>) => void;
};

/** The Hono app. Runtime-agnostic: no Bun or Deno API in its import graph, so it serves on either. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use(requestId());

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", async (c) => {
    try {
      await deps.ready();
      return c.json({ status: "ready" });
    } catch (error) {
      return c.json({ status: "not ready", detail: String((error as Error).message ?? error) }, 503);
    }
  });

  app.notFound((c) =>
    c.json({ type: "about:blank", title: "Not Found", status: 404, detail: `no route ${c.req.method} ${c.req.path}` }, 404, {
      "content-type": "application/problem+json",
    }),
  );
  app.onError((error, c) => {
    const problem = problemFor(error, c.get("requestId"));
    if (problem.status >= 500)
      deps.log?.("error", "request failed", {
        requestId: c.get("requestId"),
        error: String(error),
        stack: (error as Error).stack,
      });
    return c.json(problem, problem.status, { "content-type": "application/problem+json" });
  });
  return app;
}
