import { describe, expect, it } from "bun:test";
import { Hono } from "hono";
import { createApp } from "../../src/http/create-app.ts";

const routes = new Hono().post("/things", (c) => c.json({ ok: true }));

describe("headers and origins", () => {
  it("send secure headers on every answer, errors included", async () => {
    const app = createApp({ ready: async () => {} });
    for (const path of ["/health", "/nowhere"]) {
      const res = await app.request(path);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
      expect(res.headers.get("strict-transport-security")).toStartWith("max-age=");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    }
  });

  it("send no CORS headers unless origins are allowed", async () => {
    const res = await createApp({ ready: async () => {}, routes: [routes] }).request("/health", {
      headers: { origin: "https://evil.example.com" },
    });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allow a listed origin, bearer header included, and no other", async () => {
    const app = createApp({ ready: async () => {}, routes: [routes], corsOrigins: ["https://shop.example.com"] });
    const preflight = await app.request("/things", {
      method: "OPTIONS",
      headers: {
        origin: "https://shop.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://shop.example.com");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");
    const other = await app.request("/things", { method: "POST", headers: { origin: "https://evil.example.com" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answer /ready with 503 and keep the dependency's own message in the log, not in the body", async () => {
    const logged: unknown[] = [];
    const app = createApp({
      ready: () => Promise.reject(new Error('relation "eventline_events" does not exist at 10.0.0.5')),
      log: (...args) => logged.push(args),
    });
    const res = await app.request("/ready");
    expect(res.status).toBe(503);
    expect(await res.text()).not.toContain("eventline_events");
    expect(JSON.stringify(logged)).toContain("eventline_events");
  });
});
