import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import amqp from "amqplib";
import { bearer, staffBearer } from "../../scripts/bearer.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { queueNames } from "../../src/consumers/topology.ts";
import { amqpUrl } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { type RunningProcess, shopProcesses, shopProcessEnv, startProcess } from "../support/processes.ts";

let db: TestDatabase;
let env: Record<string, string>;
let base = "";
const running: RunningProcess[] = [];
const CONSUMERS = ["catalog", "orders", "customers", "sales", "checkout"];

async function until(what: string, check: () => Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

async function post(path: string, body: unknown, auth: Record<string, string>) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

beforeAll(async () => {
  db = await createTestDatabase();
  // Everything any process would say, so the scan sees the most a log could hold.
  ({ env, base } = shopProcessEnv(db, "tokens", { CONSUMER_MAX_ATTEMPTS: "1", LOG_LEVEL: "debug" }));
  for (const [name, args] of Object.entries(shopProcesses)) running.push(startProcess(name, args, env));
  await until("the api", async () => (await fetch(`${base}/health`)).status === 200);
  await until("the payment provider", async () => (await fetch(`${env.PAYMENT_PROVIDER_URL}/health`)).status === 200);
});

afterAll(async () => {
  for (const p of running) await p.stop("SIGTERM");
  await deleteBrokerObjects(amqpUrl(), {
    consumers: CONSUMERS,
    prefix: env.QUEUE_PREFIX,
    exchanges: [env.EVENTS_EXCHANGE as string],
  });
  await db.drop();
});

describe("card tokens sent to a full run", () => {
  it("are found in no table, no dead letter and no log line, while their last four digits are", async () => {
    const staff = await staffBearer();
    const sku = `CARD-${crypto.randomUUID().slice(0, 6)}`;
    await post("/products", { sku, name: "Card reader", price: 2500 }, staff);
    await post(`/inventory/${sku}/receipts`, { quantity: 3 }, staff);
    // The orders read model refuses every placed order for a while, so OrderPlaced deliveries dead-letter.
    await until("the orders table", async () => (await db.sql`select to_regclass('shop_orders') as t`)[0]?.t !== null);
    await db.sql`alter table shop_orders add constraint no_placed check (status <> 'PLACED') not valid`;

    const tokens: string[] = [];
    for (let i = 0; i < 6; i++) {
      const customerId = crypto.randomUUID();
      const auth = await bearer(customerId);
      expect((await post("/customers", { name: `Card ${i}`, email: `card${i}@example.com` }, auth)).status).toBe(201);
      const orderId = (await post("/orders", {}, auth)).body.orderId as string;
      // Four of six find stock; two run out, so refunds and cancellations run too. One in three declines.
      expect((await post(`/orders/${orderId}/items`, { sku, quantity: 1 }, auth)).status).toBe(200);
      const digits = String(Math.floor(Math.random() * 1e12)).padStart(12, "0");
      const token = `${i % 3 === 2 ? "decline" : "tok"}_4111${digits}${String(1000 + i)}`;
      tokens.push(token);
      expect((await post(`/orders/${orderId}/place`, { paymentToken: token }, auth)).status).toBe(200);
    }
    await until(
      "every checkout to end",
      async () => {
        const [row] = await db.sql<{ open: number; all: number }[]>`
          select count(*) filter (where status in ('running', 'compensating'))::int as open, count(*)::int as all
          from eventline_saga_instances`;
        return row?.all === 6 && row.open === 0;
      },
      60_000,
    );

    const conn = await amqp.connect(amqpUrl());
    const deadLetters: string[] = [];
    try {
      // Messages taken and not acked stay with their channel, so each is read once until it closes.
      const channels: amqp.Channel[] = [];
      async function take(consumer: string) {
        const queue = queueNames(consumer, env.QUEUE_PREFIX).dead;
        // A consumer that never dead-lettered may have no dead queue yet: the broker closes the channel on asking.
        const peek = await conn.createChannel();
        peek.on("error", () => {});
        channels.push(peek);
        if (
          !(await peek.checkQueue(queue).then(
            () => true,
            () => false,
          ))
        )
          return;
        for (let m = await peek.get(queue); m; m = await peek.get(queue))
          deadLetters.push(`${m.content.toString()} ${JSON.stringify(m.properties.headers)}`);
      }
      // The relay's lanes keep order within a stream only: one order's confirmation can be dead-lettered
      // before another order's OrderPlaced, so wait for the six OrderPlaced themselves.
      const placed = () => deadLetters.filter((d) => d.includes('"type":"OrderPlaced"')).length;
      await until("every OrderPlaced to be dead-lettered", async () => {
        await take("orders");
        return placed() >= 6;
      });
      for (const consumer of CONSUMERS.filter((c) => c !== "orders")) await take(consumer);
      for (const c of channels) await c.close().catch(() => {});
    } finally {
      await conn.close();
    }
    const tables = await db.sql<{ name: string }[]>`
      select table_name as name from information_schema.tables where table_schema = ${db.schema} and table_type = 'BASE TABLE'`;
    const rows: string[] = [];
    for (const { name } of tables)
      for (const r of await db.sql.unsafe<{ t: string }[]>(`select row_to_json(x)::text as t from "${name}" x`)) rows.push(r.t);
    const logs = running.flatMap((p) => p.lines);

    // What is scanned holds the orders: the dead letters are OrderPlaced deliveries, the dump has the provider's cards.
    expect(deadLetters.filter((d) => d.includes('"payment"')).length).toBeGreaterThanOrEqual(6);
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(["eventline_events", "eventline_saga_instances", "provider_payment_methods", "shop_orders"]),
    );
    for (const token of tokens) expect(rows.join("\n")).toContain(token.slice(-4));
    expect(logs.length).toBeGreaterThan(20);
    for (const token of tokens) {
      expect({ token, in: "database" }).toEqual({ token, in: rows.some((r) => r.includes(token)) ? "found" : "database" });
      expect({ token, in: "dead letters" }).toEqual({
        token,
        in: deadLetters.some((d) => d.includes(token)) ? "found" : "dead letters",
      });
      expect({ token, in: "logs" }).toEqual({ token, in: logs.some((l) => l.includes(token)) ? "found" : "logs" });
    }
  }, 120_000);
});
