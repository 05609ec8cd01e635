import { describe, expect, it } from "bun:test";
import type { Sql } from "postgres";
import { defineApp } from "../../src/processes/define-app.ts";
import { createAdminDeps } from "../../src/processes/admin-deps.ts";
import { createEdgeHandler } from "../../src/processes/edge-handler.ts";
import type { EventStore } from "../../src/core/event-store.ts";
import { createLogger } from "../../src/log.ts";

const app = defineApp({ name: "edge-test" });
// postgres.js connects on the first query only; /health runs none.
const DATABASE_URL = "postgres://nobody:nothing@127.0.0.1:9/none";

describe("the API as an isolate's fetch handler", () => {
  it("refuses the development secret unless development is named, since an isolate is not on loopback", async () => {
    await expect(createEdgeHandler(app)(new Request("http://edge/health"), { DATABASE_URL })).rejects.toThrow("is not loopback");
    const res = await createEdgeHandler(app)(new Request("http://edge/health"), { DATABASE_URL, EVENTLINE_ENV: "development" });
    expect(res.status).toBe(200);
  });

  it("answers with the same security headers and problems as the api process", async () => {
    const handle = createEdgeHandler(app);
    const env = { DATABASE_URL, AUTH_JWT_SECRET: "edge-secret-edge-secret-edge-secret-0123" };
    const res = await handle(new Request("http://edge/nowhere", { headers: { authorization: "Bearer nonsense" } }), env);
    expect(res.status).toBe(401);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });
});

describe("the admin rebuild through a transaction pooler", () => {
  it("is refused, since its session lock would not hold", async () => {
    const unused = undefined as unknown as Sql;
    const deps = createAdminDeps({
      pooled: true,
      sql: unused,
      readSql: unused,
      store: undefined as unknown as EventStore,
      readModels: [],
      amqpUrls: ["amqp://127.0.0.1:9"],
      queuePrefix: "x",
      notifyChannel: "x",
      log: createLogger({ role: "test" }, "error"),
    });
    await expect(deps.rebuild("anything")).rejects.toMatchObject({ code: "DIRECT_CONNECTION_REQUIRED" });
  });
});
