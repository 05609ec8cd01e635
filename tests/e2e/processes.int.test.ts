import { staffBearer } from "../../scripts/bearer.ts";
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { outboxStatus } from "../../src/outbox/outbox-queries.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { jsonLines, type RunningProcess, shopProcesses, shopProcessEnv, startProcess, stopShop } from "../support/processes.ts";
import { waitFor } from "../support/wait-for.ts";

let db: TestDatabase;
let env: Record<string, string>;
let base = "";
const running = new Map<string, RunningProcess>();
const finished: RunningProcess[] = [];

const roles = shopProcesses;

function start(name: string) {
  const p = startProcess(name, roles[name] as string[], env);
  running.set(name, p);
  return p;
}

let staff: Record<string, string>;

/** POST as staff with every shop role, unless `headers` carries another Authorization. */
async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...staff, ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

const get = (path: string) =>
  fetch(`${base}${path}`, { headers: staff }).then((r) => r.json() as Promise<Record<string, unknown>>);

beforeAll(async () => {
  staff = await staffBearer();
  db = await createTestDatabase();
  ({ env, base } = shopProcessEnv(db, "processes", { SAGA_LEASE_MS: "3000", LOG_LEVEL: "debug" }));
  for (const name of Object.keys(roles)) start(name);
  await waitFor(
    "the api",
    () => fetch(`${base}/health`).then((r) => r.status),
    (s) => s === 200,
  );
  // Placing an order exchanges the card at the provider, so it must answer first.
  await waitFor(
    "the payment provider",
    () => fetch(`${env.PAYMENT_PROVIDER_URL}/health`).then((r) => r.status),
    (s) => s === 200,
  );
});

afterAll(async () => {
  await stopShop(running.values(), env);
  await db.drop();
});

const allLogs = () => [...finished, ...running.values()];

describe("the deployed processes", () => {
  it("carry a request's trace id into the relay's, the consumers' and the saga's logs, and never log personal data", async () => {
    const traceId = crypto.randomUUID().replaceAll("-", "");
    const traceparent = `00-${traceId}-${"a1b2c3d4e5f60718"}-01`;
    const secretName = `Zelda Secretname ${traceId.slice(0, 6)}`;
    const secretEmail = `zelda.${traceId.slice(0, 6)}@secret.example`;
    const sku = `SKU-${traceId.slice(0, 8)}`;
    await post("/products", { sku, name: "Lamp", price: 1500 });
    await post(`/inventory/${sku}/receipts`, { quantity: 5 });
    const customerId = (await post("/customers", { name: secretName, email: secretEmail })).body.customerId as string;
    const orderId = (await post("/orders", { customerId })).body.orderId as string;
    await post(`/orders/${orderId}/items`, { sku, quantity: 1 });
    expect((await post(`/orders/${orderId}/place`, { paymentToken: "tok_ok" }, { traceparent })).status).toBe(200);
    await waitFor(
      "the confirmed order",
      () => get(`/orders/${orderId}`),
      (o) => o.status === "CONFIRMED",
    );
    await waitFor(
      "the customer",
      () => get(`/customers/${customerId}`),
      (c) => c.name === secretName,
    );

    for (const role of ["api", "relay", "consumers", "saga"]) {
      const hits = jsonLines(running.get(role) as RunningProcess).filter((l) => l.traceId === traceId);
      expect({ role, traced: hits.length > 0 }).toEqual({ role, traced: true });
    }
    const sagaLine = jsonLines(running.get("saga") as RunningProcess).find((l) => l.traceId === traceId && l.sagaId);
    expect(sagaLine).toMatchObject({ role: "saga", sagaId: `checkout-${orderId}` });
    for (const p of allLogs()) {
      const text = p.lines.join("\n");
      expect({ process: p.name, leaks: text.includes(secretName) || text.includes(secretEmail) }).toEqual({
        process: p.name,
        leaks: false,
      });
    }
  }, 60_000);

  it("stops every process with exit code 0 on SIGTERM under load, and loses no work", async () => {
    const sku = `LOAD-${crypto.randomUUID().slice(0, 8)}`;
    await post("/products", { sku, name: "Load", price: 100 });
    await post(`/inventory/${sku}/receipts`, { quantity: 100_000 });
    const customerId = (await post("/customers", { name: "Load Tester", email: "load@example.com" })).body.customerId as string;
    const placed: string[] = [];
    let loading = true;
    // Bounded load: at most 60 orders, one at a time, stopping as soon as the restarts are done.
    const load = (async () => {
      for (let i = 0; loading && i < 60; i++) {
        try {
          const orderId = (await post("/orders", { customerId })).body.orderId as string | undefined;
          if (!orderId) continue;
          if ((await post(`/orders/${orderId}/items`, { sku, quantity: 1 })).status !== 200) continue;
          if ((await post(`/orders/${orderId}/place`, { paymentToken: "tok_ok" })).status === 200) placed.push(orderId);
        } catch {
          await Bun.sleep(100); // the API is restarting
        }
      }
    })();
    for (const role of ["relay", "consumers", "saga", "api"]) {
      await Bun.sleep(700);
      const p = running.get(role) as RunningProcess;
      const code = await p.stop("SIGTERM");
      if (code !== 0)
        console.log(
          `on failure: ${role} log`,
          p.lines
            .filter((l) => !l.includes('"debug"'))
            .slice(-20)
            .join("\n"),
        );
      expect({ role, code }).toEqual({ role, code: 0 });
      finished.push(p);
      start(role);
      if (role === "api")
        await waitFor(
          "the api again",
          () => fetch(`${base}/health`).then((r) => r.status),
          (s) => s === 200,
        );
    }
    await Bun.sleep(500);
    loading = false;
    await load;
    expect(placed.length).toBeGreaterThan(3);
    // No lost work: every placed order is confirmed in the read model and the outbox drains.
    for (const orderId of placed) {
      await waitFor(
        `order ${orderId}`,
        () => get(`/orders/${orderId}`),
        (o) => o.status === "CONFIRMED" && o.paymentStatus === "CHARGED",
      ).catch(async (error) => {
        // What the next reader needs to tell a stuck saga from a lagging read model.
        console.log(
          "on failure: saga instance",
          await db.sql`select status, current_step, attempts, last_error, history from eventline_saga_instances where saga_id = ${`checkout-${orderId}`}`,
        );
        console.log(
          "on failure: order events",
          await db.sql`select position, stream_id, type from eventline_events where data->>'orderId' = ${orderId} order by position`,
        );
        for (const p of allLogs().filter((x) => x.name === "saga" || x.name === "consumers")) {
          console.log(
            `on failure: ${p.name} log`,
            p.lines
              .filter((l) => !l.includes('"debug"'))
              .slice(-15)
              .join("\n"),
          );
        }
        throw error;
      });
    }
    await waitFor(
      "an empty outbox",
      () => outboxStatus(db.sql),
      (s) => s.depth === 0,
    );
    const [charged] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from eventline_events where type = 'PaymentCharged' and stream_id = any(${placed.map((id) => `payment-${id}`)}::text[])`;
    expect(charged?.n).toBe(placed.length);
  }, 120_000);
});
