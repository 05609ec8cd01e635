import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { ADMIN_TOKEN, createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
let ids: { productId: string; sku: string; customerId: string; orderId: string };

beforeAll(async () => {
  h = await createShopHarness();
  const sku = "HOSTILE-1";
  const productId = (await h.call("POST", "/products", { sku, name: "H", price: 100 })).body.productId as string;
  const customerId = (await h.call("POST", "/customers", { name: "H", email: "h@example.com" })).body.customerId as string;
  const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
  ids = { productId, sku, customerId, orderId };
});
afterAll(async () => h.close());

const freshSku = () => `OK-${crypto.randomUUID().slice(0, 12)}`;
const post = (path: string, body: unknown) =>
  h.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...h.staff },
    body: JSON.stringify(body),
  });

/** Text Postgres cannot store, control characters, and unicode longer than any field allows. */
const hostileText = fc.oneof(
  fc
    .tuple(
      fc.string({ maxLength: 10 }),
      fc.constantFrom(
        "\u0000",
        "\ud800",
        "\udbff",
        "\udc00",
        "\udfff",
        "\u0001",
        "\u0008",
        "\u001b",
        "\u007f",
        "\u0085",
        "\u009f",
      ),
      fc.string({ maxLength: 10 }),
    )
    .map(([a, bad, b]) => `${a}${bad}${b}`),
  fc.integer({ min: 260, max: 2000 }).map((n) => "é😀".repeat(n)),
);

/** Every string a route takes, with a valid body around it. */
const fields: { path: () => string; body: (s: string) => unknown }[] = [
  { path: () => "/products", body: (s) => ({ sku: freshSku(), name: s, price: 1 }) },
  { path: () => "/products", body: (s) => ({ sku: s, name: "n", price: 1 }) },
  { path: () => "/customers", body: (s) => ({ name: s, email: "a@example.com" }) },
  { path: () => "/customers", body: (s) => ({ name: "n", email: s }) },
  { path: () => `/customers/${ids.customerId}/email`, body: (s) => ({ email: s }) },
  { path: () => `/orders/${ids.orderId}/items`, body: (s) => ({ sku: s, quantity: 1 }) },
  { path: () => `/orders/${ids.orderId}/place`, body: (s) => ({ paymentToken: s }) },
  { path: () => `/orders/${ids.orderId}/cancel`, body: (s) => ({ reason: s }) },
  // A hostile key: the field name itself.
  { path: () => "/customers", body: (s) => ({ name: "n", email: "a@example.com", [s]: 1 }) },
];

async function eventCount() {
  return h.eventCount();
}

describe("hostile text sent alongside valid requests", () => {
  it("answers 120 valid POST /products 201 while 4 with a NUL in the name get 400 (the reported batch failure)", async () => {
    for (let round = 0; round < 3; round++) {
      const before = await eventCount();
      const requests = Array.from({ length: 124 }, (_, i) =>
        post("/products", { sku: freshSku(), name: i % 31 === 30 ? "bad\u0000name" : `Product ${i}`, price: 100 }),
      );
      const statuses = (await Promise.all(requests)).map((r) => r.status);
      const bad = statuses.filter((_, i) => i % 31 === 30);
      const good = statuses.filter((_, i) => i % 31 !== 30);
      expect(bad).toEqual([400, 400, 400, 400]);
      expect(good.every((s) => s === 201)).toBe(true);
      expect(await eventCount()).toBe(before + 2 * 120);
    }
  });

  it("gives every hostile string a 4xx problem+json and writes nothing for it, and every valid request succeeds", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...fields), hostileText), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 5, max: 30 }),
        async (hostile, validCount) => {
          const before = await eventCount();
          const valid = Array.from({ length: validCount }, (_, i) =>
            i % 2 === 0
              ? post("/products", { sku: freshSku(), name: `Valid ${i}`, price: 5 })
              : post("/customers", { name: `Valid ${i}`, email: "v@example.com" }),
          );
          const attacks = hostile.map(([field, text]) => post(field.path(), field.body(text)));
          const [validAnswers, attackAnswers] = await Promise.all([Promise.all(valid), Promise.all(attacks)]);
          for (const [i, res] of validAnswers.entries()) {
            expect({ i, status: res.status }).toEqual({ i, status: 201 });
          }
          for (const res of attackAnswers) {
            expect(res.status >= 400 && res.status < 500).toBe(true);
            expect(res.headers.get("content-type")).toContain("application/problem+json");
          }
          const validEvents = validAnswers.reduce((n, _, i) => n + (i % 2 === 0 ? 2 : 1), 0);
          expect(await eventCount()).toBe(before + validEvents);
        },
      ),
      { numRuns: 60 },
    );
  }, 90_000);

  it("refuses hostile text in a query string and in a path with 400", async () => {
    const inQuery = await h.app.request(`/orders/${ids.orderId}?after=${encodeURIComponent("1\u0000")}`);
    expect(inQuery.status).toBe(400);
    const inPath = await h.app.request("/inventory/%00/receipts", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ quantity: 1 }),
    });
    expect(inPath.status).toBe(400);
    expect(inPath.headers.get("content-type")).toContain("application/problem+json");
    // A run that is not valid UTF-8 (%C0) must not hide the NUL in another.
    const mixed = await h.app.request("/admin/outbox/%00x%C0/release", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(mixed.status).toBe(400);
  });
});
