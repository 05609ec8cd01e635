import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
let routes: string[] = [];

beforeAll(async () => {
  h = await createShopHarness();
  const sku = "PROP-1";
  const productId = (await h.call("POST", "/products", { sku, name: "Prop", price: 100 })).body.productId as string;
  const customerId = (await h.call("POST", "/customers", { name: "P", email: "p@example.com" })).body.customerId as string;
  const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
  // Real ids, so that only the body decides; ship is included because a draft order can never be shipped.
  routes = [
    "/products",
    `/products/${productId}/price`,
    `/inventory/${sku}/receipts`,
    "/customers",
    `/customers/${customerId}/email`,
    "/orders",
    `/orders/${orderId}/items`,
    `/orders/${orderId}/place`,
    `/orders/${orderId}/ship`,
  ];
});
afterAll(async () => h.close());

/** Bodies nobody should send: any JSON value, raw text, unicode, extreme numbers, and now and then a huge one. */
const hostileBody = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 200 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        sku: fc.oneof(fc.string({ unit: "grapheme" }), fc.double(), fc.constant(null)),
        name: fc.oneof(fc.string({ unit: "grapheme", maxLength: 300 }), fc.integer()),
        price: fc.oneof(fc.double(), fc.bigInt().map(String), fc.constant(1e308), fc.constant(-1)),
        quantity: fc.oneof(fc.double({ noNaN: false }), fc.constant(Number.MAX_SAFE_INTEGER * 4), fc.string()),
        email: fc.string({ unit: "grapheme" }),
        customerId: fc.string(),
      })
      .map((r) => JSON.stringify(r)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 65 * 1024, max: 80 * 1024 }).map((n) => JSON.stringify({ name: "x".repeat(n) })) },
);

describe("hostile bodies on every POST route", () => {
  it("always get a 4xx problem+json, never a 5xx, and store nothing", async () => {
    const before = await h.eventCount();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), hostileBody, async (route, body) => {
        const res = await h.app.request(route, {
          method: "POST",
          headers: { "content-type": "application/json", ...h.staff },
          body,
        });
        const failure = `${route} answered ${res.status} to ${body.slice(0, 120)}`;
        expect({ failure, ok: res.status >= 400 && res.status < 500 }).toEqual({ failure, ok: true });
        expect(res.headers.get("content-type")).toContain("application/problem+json");
      }),
      { numRuns: 300 },
    );
    expect(await h.eventCount()).toBe(before);
  }, 120_000);
});
