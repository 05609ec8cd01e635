import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { bearer, staffBearer } from "../../scripts/bearer.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { readEnvFile } from "../../scripts/infra-env.ts";
import { connect } from "../../src/store/connect.ts";
import { amqpUrl } from "../support/amqp.ts";
import { startDeno, startWorker } from "../../scripts/runtimes.ts";
import { databaseUrl } from "../support/pg.ts";
import { type RunningProcess, shopProcessEnv, shopProcesses, startProcess } from "../support/processes.ts";

const root = join(import.meta.dirname, "..", "..");
const withDatabase = (url: string, name: string) => url.replace(/\/[^/?]+(\?|$)/, `/${name}$1`);

// A database of its own: a transaction pooler carries no search_path, so a schema per test cannot pass it.
const dbName = `t_pool_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
let direct = "";
let pooled = "";
let env: Record<string, string>;
let base = "";
const running: RunningProcess[] = [];

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await Bun.sleep(100);
  }
}

async function call(method: string, path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  // The suite's servers are up; this adds the PgBouncer in transaction mode in front of that Postgres.
  const up = spawnSync("bash", [join(root, "scripts", "infra"), "up", "--pooler"], { encoding: "utf8" });
  if (up.status !== 0) throw new Error(`infra up --pooler failed: ${up.stderr}`);
  const poolerUrl = readEnvFile().POOLED_DATABASE_URL;
  if (!poolerUrl) throw new Error("infra.env has no POOLED_DATABASE_URL");
  const admin = connect(databaseUrl(), { max: 1 });
  await admin.unsafe(`create database ${dbName}`);
  await admin.end();
  direct = withDatabase(databaseUrl(), dbName);
  pooled = withDatabase(poolerUrl, dbName);
  ({ env, base } = shopProcessEnv({ url: direct }, "pooled", { LOG_LEVEL: "warn" }));
  expect(await startProcess("migrate", ["migrate"], env).exited).toBe(0);
  // Relay, consumers, saga and the provider on Bun with direct connections, as deployed.
  for (const [name, args] of Object.entries(shopProcesses).filter(([name]) => name !== "api"))
    running.push(startProcess(name, args, env));
  await until(
    "the payment provider",
    () => fetch(`${env.PAYMENT_PROVIDER_URL}/health`).then((r) => r.status),
    (s) => s === 200,
  );
});

afterAll(async () => {
  for (const p of running) await p.stop("SIGTERM");
  await deleteBrokerObjects(amqpUrl(), {
    consumers: ["catalog", "orders", "customers", "sales", "checkout"],
    prefix: env.QUEUE_PREFIX,
    exchanges: [env.EVENTS_EXCHANGE as string],
  });
  const admin = connect(databaseUrl(), { max: 1 });
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.end();
});

/** The shop's checkout walked through an API at `base`, with a stale If-Match, a bad body and an idempotent replay. */
async function walkTheCheckout() {
  const staff = await staffBearer();
  const sku = `POOL-${crypto.randomUUID().slice(0, 6)}`;
  const product = await call("POST", "/products", { sku, name: "Pooled", price: 700 }, staff);
  expect(product.status).toBe(201);
  expect((await call("POST", `/inventory/${sku}/receipts`, { quantity: 5 }, staff)).status).toBe(200);
  const customerId = crypto.randomUUID();
  const me = await bearer(customerId);
  expect((await call("POST", "/customers", { name: "Pat", email: "pat@example.com" }, me)).status).toBe(201);
  const orderId = (await call("POST", "/orders", {}, me)).body.orderId as string;
  const key = { ...me, "idempotency-key": `add-${orderId}` };
  const added = await call("POST", `/orders/${orderId}/items`, { sku, quantity: 2 }, key);
  expect(added.status).toBe(200);
  const again = await call("POST", `/orders/${orderId}/items`, { sku, quantity: 2 }, key);
  expect(again.headers.get("idempotent-replayed")).toBe("true");
  expect(again.body).toEqual(added.body);
  const stale = await call("POST", `/orders/${orderId}/place`, { paymentToken: "tok_pool_4242" }, { ...me, "if-match": "1" });
  expect(stale.status).toBe(412);
  expect((await call("POST", `/orders/${orderId}/items`, { sku, quantity: "two" }, me)).status).toBe(400);
  const placed = await call("POST", `/orders/${orderId}/place`, { paymentToken: "tok_pool_4242" }, me);
  expect(placed.status).toBe(200);
  const fresh = await call("GET", `/orders/${orderId}?after=${placed.body.position}`, undefined, me);
  expect(fresh.headers.get("eventline-freshness")).toBe("fresh");
  expect(fresh.body).toMatchObject({ status: "PLACED", total: 1400 });
  const confirmed = await until(
    "the checkout to confirm",
    () => call("GET", `/orders/${orderId}`, undefined, me),
    (r) => r.body.status === "CONFIRMED",
  );
  expect(confirmed.body).toMatchObject({ paymentStatus: "CHARGED", items: [{ sku, quantity: 2, unitPrice: 700 }] });
}

/** Starts an API, waits until `probe` answers 200, walks the checkout through it, and stops it. */
async function throughApi(what: string, api: { stop(): Promise<void> }, probe: string) {
  try {
    await until(
      what,
      () => fetch(`${base}${probe}`).then((r) => r.status),
      (s) => s === 200,
      60_000,
    );
    await walkTheCheckout();
  } finally {
    await api.stop();
  }
}

describe("the shop's API through PgBouncer in transaction mode, with the other processes on Bun", () => {
  it("walks the checkout on Deno", async () => {
    expect(new URL(pooled).port).not.toBe(new URL(direct).port);
    await throughApi("deno's api", startDeno({ ...env, DATABASE_URL: pooled, DATABASE_POOLER: "transaction" }), "/health");
  }, 120_000);

  it("walks the checkout in workerd (wrangler's local mode), a connection per request", async () => {
    await throughApi("the worker", startWorker({ ...env, DATABASE_URL: pooled }, Number(new URL(base).port)), "/ready");
  }, 120_000);
});
