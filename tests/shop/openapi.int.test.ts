import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
beforeAll(async () => {
  h = await createShopHarness();
});
afterAll(async () => h.close());

const undocumented = new Set(["/openapi.json", "/docs"]);

describe("the OpenAPI document", () => {
  it("validates as OpenAPI 3.1", async () => {
    const spec = (await h.call("GET", "/openapi.json")).body;
    expect(spec.openapi).toBe("3.1.0");
    const result = await new Validator().validate(spec as Parameters<Validator["validate"]>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("lists every route of the app with its method", async () => {
    const spec = (await h.call("GET", "/openapi.json")).body as { paths: Record<string, Record<string, unknown>> };
    const routes = h.app.routes
      .filter((r) => r.method !== "ALL" && !undocumented.has(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    const documented = Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(routes.length).toBeGreaterThan(20);
    for (const route of routes) expect(documented).toContain(route);
  });

  it("describes request bodies with their schemas", async () => {
    const spec = (await h.call("GET", "/openapi.json")).body as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: object } }> } }>>;
    };
    const body = spec.paths["/products"]?.post?.requestBody?.content["application/json"]?.schema;
    expect(Object.keys(body?.properties ?? {}).sort()).toEqual(["name", "price", "sku"]);
  });

  it("serves an interactive docs page", async () => {
    const res = await h.app.request("/docs");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("/openapi.json");
  });
});
