import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { ADMIN_ROLE } from "../../src/hono.ts";
import { bearerFor } from "../support/auth.ts";
import { Hono } from "hono";
import { createApp } from "../../src/http/create-app.ts";
import { ADMIN_TOKEN, createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
let customerId: string;
let orderId: string;

beforeAll(async () => {
  h = await createShopHarness();
  customerId = (await h.call("POST", "/customers", { name: "Grace Hopper", email: "grace@example.com" })).body
    .customerId as string;
  orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
  await h.call("POST", "/products", { sku: "MUG-1", name: "Mug", price: 1200 });
});
afterAll(async () => h.close());

/** Runs a request and checks it stored nothing; returns the response for further checks. */
async function refused(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const before = await h.eventCount();
  const res = await h.call(method, path, body, headers);
  expect(await h.eventCount()).toBe(before);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  return res;
}

describe("bad input", () => {
  it("answers malformed JSON with a 400 problem that does not echo the body", async () => {
    const res = await refused("POST", "/customers", '{"name": "Eve", "email": "secret-marker@x.io"');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ type: "about:blank", title: "Bad Request", status: 400 });
    expect(JSON.stringify(res.body)).not.toContain("secret-marker");
  });

  it("answers a body failing its schema with a 400 listing a pointer per problem", async () => {
    const res = await refused("POST", "/products", { sku: "bad sku!", name: "", price: -5, extra: true });
    expect(res.status).toBe(400);
    const pointers = (res.body.errors as { pointer: string }[]).map((e) => e.pointer).sort();
    expect(pointers).toEqual(["/extra", "/name", "/price", "/sku"]);
  });

  it("rejects a wrong type, a fraction and a huge number", async () => {
    for (const quantity of ["3", 1.5, 1e300, -1, 0, null]) {
      const res = await refused("POST", `/orders/${orderId}/items`, { sku: "MUG-1", quantity });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ pointer: "/quantity" })]);
    }
  });

  it("answers a body that is not JSON with 415", async () => {
    const res = await refused("POST", "/customers", "name=Eve", { "content-type": "application/x-www-form-urlencoded" });
    expect(res.status).toBe(415);
  });

  it("answers a body over 64 KiB with 413", async () => {
    const res = await refused("POST", "/customers", { name: "x".repeat(70 * 1024), email: "big@example.com" });
    expect(res.status).toBe(413);
  });

  it("answers an unknown id with 404, whatever the id looks like", async () => {
    for (const id of [crypto.randomUUID(), "not-a-uuid", "'; drop table events; --"]) {
      const res = await refused("POST", `/orders/${encodeURIComponent(id)}/place`, { paymentToken: "tok" });
      expect(res.status).toBe(404);
      expect((await refused("GET", `/orders/${encodeURIComponent(id)}`)).status).toBe(404);
    }
    expect((await refused("POST", `/orders/${orderId}/items`, { sku: "NO-SUCH-SKU", quantity: 1 })).status).toBe(404);
    expect((await refused("POST", "/orders", { customerId: crypto.randomUUID() })).status).toBe(404);
  });

  it("answers a broken business rule with 409 and a machine-readable code", async () => {
    const empty = await refused("POST", `/orders/${orderId}/place`, { paymentToken: "tok" });
    expect(empty.status).toBe(409);
    expect(empty.body.code).toBe("ORDER_EMPTY");
    const taken = await refused("POST", "/products", { sku: "MUG-1", name: "Another mug", price: 1 });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe("SKU_TAKEN");
  });

  it("answers a stale If-Match with 412 and a current one with success", async () => {
    const res = await refused("POST", `/customers/${customerId}/email`, { email: "new@example.com" }, { "if-match": "7" });
    expect(res.status).toBe(412);
    const ok = await h.call("POST", `/customers/${customerId}/email`, { email: "new@example.com" }, { "if-match": "1" });
    expect(ok.status).toBe(200);
    expect(ok.body.version).toBe(2);
  });

  it("replays the first answer for a repeated Idempotency-Key and refuses the key for another body", async () => {
    const key = crypto.randomUUID();
    const body = { name: "Ada", email: "ada@example.com" };
    const first = await h.call("POST", "/customers", body, { "idempotency-key": key });
    expect(first.status).toBe(201);
    const before = await h.eventCount();
    const again = await h.call("POST", "/customers", body, { "idempotency-key": key });
    expect([again.status, again.body]).toEqual([201, first.body]);
    expect(await h.eventCount()).toBe(before);
    const other = await refused("POST", "/customers", { ...body, name: "Someone else" }, { "idempotency-key": key });
    expect(other.status).toBe(422);
  });

  it("stores one answer when the same Idempotency-Key arrives twice at once", async () => {
    const key = crypto.randomUUID();
    const before = await h.eventCount();
    const answers = await Promise.all(
      [1, 2].map(() => h.call("POST", "/customers", { name: "Twin", email: "twin@example.com" }, { "idempotency-key": key })),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201]);
    expect(answers[0]?.body).toEqual(answers[1]?.body as Record<string, unknown>);
    expect(await h.eventCount()).toBe(before + 1);
  });

  it("answers anything unexpected with a 500 problem carrying a request id and no details", async () => {
    const broken = new Hono().get("/boom", () => {
      throw new Error("secret internal detail");
    });
    const logged: unknown[] = [];
    const app = createApp({ ready: async () => {}, routes: [broken], log: (...args) => logged.push(args) });
    const res = await app.request("/boom");
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.requestId).toBeString();
    expect(JSON.stringify(body)).not.toContain("secret internal detail");
    expect(JSON.stringify(logged)).toContain("secret internal detail");
  });
});

describe("admin routes", () => {
  it("take the admin token or a token with the admin role, and refuse anyone else", async () => {
    expect((await h.call("GET", "/admin/outbox", undefined, { authorization: "" })).status).toBe(401);
    expect((await h.call("GET", "/admin/outbox", undefined, { authorization: "Bearer wrong-token-0123456789" })).status).toBe(
      401,
    );
    expect((await h.call("GET", "/admin/outbox")).status).toBe(403);
    expect((await h.call("GET", "/admin/outbox", undefined, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
    expect((await h.call("GET", "/admin/outbox", undefined, await bearerFor("operator-1", [ADMIN_ROLE]))).status).toBe(200);
  });

  it("let no one in when neither an admin token nor a token verifier is configured", async () => {
    const app = createApp({
      ready: async () => {},
      admin: {
        outboxStatus: async () => ({}),
        releaseStream: async () => 0,
        consumers: async () => [],
        deadLetters: { list: async () => [], replay: async () => 0, purge: async () => 0 },
        rebuild: async () => {},
      },
    });
    expect((await app.request("/admin/outbox")).status).toBe(401);
    const res = await app.request("/admin/outbox", { headers: { authorization: "Bearer anything-at-all-0123" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="eventline", error="invalid_token"');
  });
});
