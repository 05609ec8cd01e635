import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { SignJWT } from "jose";
import { signToken } from "../../src/hono.ts";
import { bearerFor, TEST_JWT } from "../support/auth.ts";
import { createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;

/** One customer of the fixture: their token, profile, a draft order with an item, and a placed order. */
type Customer = { id: string; auth: Record<string, string>; email: string; draft: string; placed: string };
const customers: Customer[] = [];
let sku = "";
let productId = "";

type Ids = { customer: Customer; sku: string; productId: string };
/** Who may use a route: the resource's owner (and support), a staff role, any caller, or anyone signed in. */
type Access = { owner: true } | { role: string } | { open: true } | { signedIn: true };
type Route = { method: string; path: (ids: Ids) => string; body?: (ids: Ids) => unknown; access: Access };

const routes: Route[] = [
  {
    method: "POST",
    path: () => "/products",
    body: () => ({ sku: `P-${crypto.randomUUID().slice(0, 8)}`, name: "X", price: 1 }),
    access: { role: "catalog" },
  },
  { method: "POST", path: (i) => `/products/${i.productId}/price`, body: () => ({ price: 777 }), access: { role: "catalog" } },
  { method: "POST", path: (i) => `/inventory/${i.sku}/receipts`, body: () => ({ quantity: 1 }), access: { role: "inventory" } },
  {
    method: "POST",
    path: () => "/customers",
    body: () => ({ name: "Eve", email: "eve@example.com" }),
    access: { signedIn: true },
  },
  {
    method: "POST",
    path: (i) => `/customers/${i.customer.id}/email`,
    body: () => ({ email: "eve@example.com" }),
    access: { owner: true },
  },
  { method: "DELETE", path: (i) => `/customers/${i.customer.id}/personal-data`, access: { owner: true } },
  { method: "POST", path: () => "/orders", body: (i) => ({ customerId: i.customer.id }), access: { owner: true } },
  {
    method: "POST",
    path: (i) => `/orders/${i.customer.draft}/items`,
    body: (i) => ({ sku: i.sku, quantity: 1 }),
    access: { owner: true },
  },
  { method: "DELETE", path: (i) => `/orders/${i.customer.draft}/items/${i.sku}`, access: { owner: true } },
  {
    method: "POST",
    path: (i) => `/orders/${i.customer.draft}/place`,
    body: () => ({ paymentToken: "tok_eve_0000" }),
    access: { owner: true },
  },
  {
    method: "POST",
    path: (i) => `/orders/${i.customer.placed}/cancel`,
    body: () => ({ reason: "eve" }),
    access: { owner: true },
  },
  { method: "POST", path: (i) => `/orders/${i.customer.placed}/ship`, access: { role: "shipping" } },
  { method: "GET", path: (i) => `/orders/${i.customer.placed}`, access: { owner: true } },
  { method: "GET", path: (i) => `/customers/${i.customer.id}`, access: { owner: true } },
  { method: "GET", path: (i) => `/customers/${i.customer.id}/orders`, access: { owner: true } },
  { method: "GET", path: (i) => `/products/${i.productId}`, access: { open: true } },
  { method: "GET", path: () => "/reports/sales", access: { role: "support" } },
  { method: "GET", path: () => "/warehouse/shipping-queue", access: { role: "shipping" } },
  { method: "GET", path: (i) => `/orders/${i.customer.placed}/events`, access: { role: "support" } },
  { method: "GET", path: (i) => `/orders/${i.customer.placed}/state`, access: { role: "support" } },
  { method: "GET", path: () => "/admin/outbox", access: { role: "admin" } },
  { method: "GET", path: () => "/admin/consumers", access: { role: "admin" } },
  { method: "GET", path: () => "/admin/sagas", access: { role: "admin" } },
  { method: "POST", path: () => "/admin/outbox/release-all", access: { role: "admin" } },
];

const ownerRoutes = routes.filter((r) => "owner" in r.access);
const roleRoutes = routes.filter((r) => "role" in r.access);
const STAFF_ROLES = ["catalog", "inventory", "support", "shipping", "admin"];

function send(route: Route, ids: Ids, auth: Record<string, string>) {
  const body = route.body?.(ids);
  return h.call(route.method, route.path(ids), body, { authorization: "", ...auth });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);
const claims = (subject: string) => ({ sub: subject, iss: TEST_JWT.issuer, aud: TEST_JWT.audience, roles: STAFF_ROLES });

/** A token signed with the suite's own secret, but under `alg` and with or without an expiry. */
function signedWith(alg: string, subject: string, exp?: number): Promise<string> {
  const jwt = new SignJWT({ roles: STAFF_ROLES })
    .setProtectedHeader({ alg })
    .setSubject(subject)
    .setIssuer(TEST_JWT.issuer)
    .setAudience(TEST_JWT.audience);
  if (exp !== undefined) jwt.setExpirationTime(exp);
  return jwt.sign(new TextEncoder().encode(TEST_JWT.secret));
}

/** Tokens that must never get past authentication, each for a subject who would otherwise be let in. */
const badTokens: Record<string, (subject: string) => Promise<string>> = {
  expired: (subject) => signToken(TEST_JWT, { subject, roles: STAFF_ROLES, expiresInSeconds: -120 }),
  "not yet valid": (subject) => signToken(TEST_JWT, { subject, roles: STAFF_ROLES, notBefore: new Date(Date.now() + 3_600_000) }),
  "signed with another secret": (subject) =>
    signToken({ ...TEST_JWT, secret: "another-secret-entirely-0123456789abcdef" }, { subject, roles: STAFF_ROLES }),
  "alg none": async (subject) => `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...claims(subject), exp: now() + 600 })}.`,
  "alg switched to HS512": (subject) => signedWith("HS512", subject, now() + 600),
  "another issuer": (subject) => signToken({ ...TEST_JWT, issuer: "someone-else" }, { subject, roles: STAFF_ROLES }),
  "another audience": (subject) => signToken({ ...TEST_JWT, audience: "another-api" }, { subject, roles: STAFF_ROLES }),
  "no expiry": (subject) => signedWith("HS256", subject),
  "signature cut off": async (subject) => (await signToken(TEST_JWT, { subject, roles: STAFF_ROLES })).replace(/\.[^.]+$/, "."),
};

beforeAll(async () => {
  h = await createShopHarness({ pipeline: true });
  sku = `AUTH-${crypto.randomUUID().slice(0, 8)}`;
  productId = (await h.call("POST", "/products", { sku, name: "Lock", price: 500 })).body.productId as string;
  await h.call("POST", `/inventory/${sku}/receipts`, { quantity: 1_000 });
  for (let i = 0; i < 4; i++) {
    const id = crypto.randomUUID();
    const auth = await bearerFor(id);
    const email = `owner${i}-${id.slice(0, 6)}@example.com`;
    expect((await h.call("POST", "/customers", { name: `Owner ${i}`, email }, auth)).status).toBe(201);
    const order = async () => {
      const orderId = (await h.call("POST", "/orders", {}, auth)).body.orderId as string;
      expect((await h.call("POST", `/orders/${orderId}/items`, { sku, quantity: 1 }, auth)).status).toBe(200);
      return orderId;
    };
    const draft = await order();
    const placed = await order();
    const answer = await h.call("POST", `/orders/${placed}/place`, { paymentToken: "tok_owner_4242" }, auth);
    expect(answer.status).toBe(200);
    customers.push({ id, auth, email, draft, placed });
  }
  // The read models have caught up, so a 404 below is the guard's and not an empty table's.
  const [row] = await h.db.sql<{ max: string }[]>`select max(position)::text as max from eventline_events`;
  for (const path of [`/customers/${customers[0]?.id}/orders`, `/products/${productId}`]) {
    const fresh = await h.call("GET", `${path}?after=${row?.max}`, undefined, customers[0]?.auth);
    expect(fresh.headers.get("eventline-freshness")).toBe("fresh");
  }
});
afterAll(async () => h.close());

const pairOfCustomers = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }))
  .map(([a, shift]) => [customers[a] as Customer, customers[(a + shift) % 4] as Customer] as const);

describe("who may do what, tried by an attacker with a token of their own", () => {
  it("covers every route the API serves, apart from the open operational ones", () => {
    const served = new Set(
      h.app.routes
        .filter((r) => r.method !== "ALL" && !["/health", "/ready", "/metrics", "/openapi.json", "/docs"].includes(r.path))
        .map((r) => `${r.method} ${r.path.replace(/:\w+/g, ":id")}`),
    );
    const ids: Ids = { customer: { id: ":id", draft: ":id", placed: ":id", auth: {}, email: "" }, sku: ":id", productId: ":id" };
    const covered = new Set(routes.map((r) => `${r.method} ${r.path(ids)}`));
    const admin = [...served].filter((r) => r.includes("/admin/"));
    expect([...served].filter((r) => !covered.has(r) && !r.includes("/admin/"))).toEqual([]);
    // Admin routes share one guard (roleRequired(admin) on /admin/*); four of them stand for the rest here.
    expect(admin.length).toBeGreaterThan(4);
  });

  it("lets a customer reach their own profile and orders (so a 404 for a stranger is the guard's)", async () => {
    const reads = ownerRoutes.filter((r) => r.method === "GET");
    for (const customer of customers)
      for (const route of reads) {
        const res = await send(route, { customer, sku, productId }, customer.auth);
        expect({ path: route.path({ customer, sku, productId }), status: res.status }).toEqual({
          path: route.path({ customer, sku, productId }),
          status: 200,
        });
      }
  });

  it("answers 404 to a customer's token on another customer's resources, and writes nothing", async () => {
    await fc.assert(
      fc.asyncProperty(pairOfCustomers, fc.constantFrom(...ownerRoutes), async ([attacker, victim], route) => {
        const before = await h.eventCount();
        const res = await send(route, { customer: victim, sku, productId }, attacker.auth);
        expect({ route: route.path({ customer: victim, sku, productId }), status: res.status }).toEqual({
          route: route.path({ customer: victim, sku, productId }),
          status: 404,
        });
        expect(JSON.stringify(res.body)).not.toContain(victim.email);
        expect(await h.eventCount()).toBe(before);
      }),
      { numRuns: 60 },
    );
  });

  it("answers 403 to a token without the route's staff role, and 401 to none at all, writing nothing", async () => {
    const tokenWithout = (role: string) =>
      fc.oneof(
        fc.constant(async () => (customers[0] as Customer).auth),
        fc
          .subarray(STAFF_ROLES.filter((r) => r !== role))
          .map((roles) => () => bearerFor(`staff-${roles.join("-") || "none"}`, roles)),
      );
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(...roleRoutes)
          .chain((route) => fc.tuple(fc.constant(route), tokenWithout((route.access as { role: string }).role))),
        async ([route, token]) => {
          const ids = { customer: customers[1] as Customer, sku, productId };
          const before = await h.eventCount();
          expect((await send(route, ids, await token())).status).toBe(403);
          const anonymous = await send(route, ids, {});
          expect(anonymous.status).toBe(401);
          expect(anonymous.headers.get("www-authenticate")).toStartWith('Bearer realm="shop"');
          expect(await h.eventCount()).toBe(before);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("answers 401 to expired, not-yet-valid, wrongly signed, alg none, switched and malformed tokens on every route, writing nothing", async () => {
    const malformed = fc.oneof(
      fc.string({ minLength: 1, maxLength: 60 }).filter((s) => /^\S+$/.test(s)),
      fc.base64String({ minLength: 4, maxLength: 80 }),
      fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map((parts) => parts.join(".")),
    );
    const token = fc.oneof(
      fc
        .constantFrom(...Object.keys(badTokens))
        .map((kind) => ({ kind, make: badTokens[kind] as (s: string) => Promise<string> })),
      malformed.map((text) => ({ kind: "malformed", make: async () => text })),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), token, fc.integer({ min: 0, max: 3 }), async (route, bad, who) => {
        const customer = customers[who] as Customer;
        const before = await h.eventCount();
        const res = await send(route, { customer, sku, productId }, { authorization: `Bearer ${await bad.make(customer.id)}` });
        expect({ kind: bad.kind, status: res.status }).toEqual({ kind: bad.kind, status: 401 });
        expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
        expect(res.headers.get("content-type")).toContain("application/problem+json");
        expect(await h.eventCount()).toBe(before);
      }),
      { numRuns: 120 },
    );
  });

  it("answers 401 to an Authorization header that is not a bearer token", async () => {
    for (const header of ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "token abc"]) {
      const res = await h.call("GET", `/customers/${customers[0]?.id}`, undefined, { authorization: header });
      expect({ header, status: res.status }).toEqual({ header, status: 401 });
    }
  });

  it("records the caller's subject, and nothing personal, as each event's actor", async () => {
    const customer = customers[2] as Customer;
    const events = await h.shop.store.readStream(`order-${customer.placed}`);
    expect(events.map((e) => e.metadata.actor)).toEqual(events.map(() => customer.id));
  });
});
