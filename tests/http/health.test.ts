import { describe, expect, it } from "bun:test";
import { createApp } from "../../src/http/create-app.ts";

describe("the operational routes", () => {
  it("answers /health with 200 without touching any dependency", async () => {
    const app = createApp({ ready: () => Promise.reject(new Error("must not be called")) });
    const res = await app.request("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("answers /ready with 503 while a dependency is down", async () => {
    const app = createApp({ ready: () => Promise.reject(new Error("connection refused")) });
    const res = await app.request("/ready");
    expect(res.status).toBe(503);
  });

  it("answers an unknown route with a problem+json 404", async () => {
    const res = await createApp({ ready: async () => {} }).request("/nowhere");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });
});
