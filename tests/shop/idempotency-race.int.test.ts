import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;

beforeAll(async () => {
  h = await createShopHarness();
});
afterAll(async () => h.close());

type Fixture = { sku: string; productId: string; customerId: string; orderId: string };

async function fixture(): Promise<Fixture> {
  const sku = `RACE-${crypto.randomUUID().slice(0, 8)}`;
  const productId = (await h.call("POST", "/products", { sku, name: "Race", price: 250 })).body.productId as string;
  await h.call("POST", `/inventory/${sku}/receipts`, { quantity: 100 });
  const customerId = (await h.call("POST", "/customers", { name: "R", email: "r@example.com" })).body.customerId as string;
  const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
  await h.call("POST", `/orders/${orderId}/items`, { sku, quantity: 1 });
  return { sku, productId, customerId, orderId };
}

/** Every command route, with the body it is sent and how many events one accepted request appends. */
const commands: { name: string; method: string; path: (f: Fixture) => string; body?: (f: Fixture) => unknown; events: number }[] =
  [
    {
      name: "add product",
      method: "POST",
      path: () => "/products",
      body: () => ({ sku: `N-${crypto.randomUUID().slice(0, 8)}`, name: "N", price: 1 }),
      events: 2,
    },
    {
      name: "change price",
      method: "POST",
      path: (f) => `/products/${f.productId}/price`,
      body: () => ({ price: 999 }),
      events: 1,
    },
    {
      name: "receive stock",
      method: "POST",
      path: (f) => `/inventory/${f.sku}/receipts`,
      body: () => ({ quantity: 3 }),
      events: 1,
    },
    {
      name: "register customer",
      method: "POST",
      path: () => "/customers",
      body: () => ({ name: "T", email: "t@example.com" }),
      events: 1,
    },
    {
      name: "change email",
      method: "POST",
      path: (f) => `/customers/${f.customerId}/email`,
      body: () => ({ email: "n@example.com" }),
      events: 1,
    },
    { name: "forget customer", method: "DELETE", path: (f) => `/customers/${f.customerId}/personal-data`, events: 1 },
    { name: "create order", method: "POST", path: () => "/orders", body: (f) => ({ customerId: f.customerId }), events: 1 },
    {
      name: "add item",
      method: "POST",
      path: (f) => `/orders/${f.orderId}/items`,
      body: (f) => ({ sku: f.sku, quantity: 2 }),
      events: 1,
    },
    { name: "remove item", method: "DELETE", path: (f) => `/orders/${f.orderId}/items/${f.sku}`, events: 1 },
    {
      name: "place order",
      method: "POST",
      path: (f) => `/orders/${f.orderId}/place`,
      body: () => ({ paymentToken: "tok_ok" }),
      events: 1,
    },
    {
      name: "cancel order",
      method: "POST",
      path: (f) => `/orders/${f.orderId}/cancel`,
      body: () => ({ reason: "changed mind" }),
      events: 1,
    },
  ];

describe("one Idempotency-Key sent by several requests at once", () => {
  it("gives every request the first answer, and appends one request's events", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...commands), fc.integer({ min: 2, max: 6 }), async (command, n) => {
        const f = await fixture();
        const key = crypto.randomUUID();
        const body = command.body?.(f);
        const before = await h.eventCount();
        const answers = await Promise.all(
          Array.from({ length: n }, () => h.call(command.method, command.path(f), body, { "idempotency-key": key })),
        );
        const seen = answers.map((a) => ({ status: a.status, body: a.body }));
        const label = `${command.name} x${n}`;
        expect({ label, statuses: seen.map((s) => s.status) }).toEqual({
          label,
          statuses: Array(n).fill(seen[0]?.status),
        });
        expect(seen[0]?.status).toBeLessThan(300);
        for (const s of seen) expect(s.body).toEqual(seen[0]?.body as Record<string, unknown>);
        expect({ label, appended: (await h.eventCount()) - before }).toEqual({ label, appended: command.events });
      }),
      { numRuns: 40 },
    );
  }, 60_000);

  it("answers two concurrent place requests with one key both 200, with the same body (the reported race)", async () => {
    for (let i = 0; i < 10; i++) {
      const f = await fixture();
      const key = crypto.randomUUID();
      const answers = await Promise.all(
        [1, 2].map(() => h.call("POST", `/orders/${f.orderId}/place`, { paymentToken: "tok_ok" }, { "idempotency-key": key })),
      );
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      expect(answers[1]?.body).toEqual(answers[0]?.body as Record<string, unknown>);
    }
  });
});
