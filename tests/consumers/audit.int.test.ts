import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { amqpUrl } from "../support/amqp.ts";
import { startProcess } from "../support/processes.ts";
import { createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
const orderIds: string[] = [];

async function until(what: string, check: () => Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

/** `audit` as an operator runs it, against the harness's schema; its exit code and its report. */
async function audit(...args: string[]) {
  const p = startProcess("audit", ["audit", ...args], {
    DATABASE_URL: h.db.url,
    DATABASE_SCHEMA: h.db.schema,
    AMQP_URL: amqpUrl(),
    NOTIFY_CHANNEL: h.notifyChannel,
    LOG_LEVEL: "error",
  });
  const code = await p.exited;
  return { code, out: p.lines.join("\n") };
}

const missingGauge = async () => {
  const text = await h.registry.getSingleMetricAsString("eventline_consumer_missing_events");
  return Number(/consumer="orders"} (\d+)/.exec(text)?.[1] ?? "-1");
};

beforeAll(async () => {
  h = await createShopHarness({ pipeline: true, saga: true, audit: { lagMs: 0, everyMs: 200 } });
  const sku = `AUD-${crypto.randomUUID().slice(0, 8)}`;
  await h.call("POST", "/products", { sku, name: "Lamp", price: 1200 });
  await h.call("POST", `/inventory/${sku}/receipts`, { quantity: 10 });
  const customerId = (await h.call("POST", "/customers", { name: "Ada Audit", email: "ada@example.com" })).body
    .customerId as string;
  for (let i = 0; i < 2; i++) {
    const orderId = (await h.call("POST", "/orders", { customerId })).body.orderId as string;
    await h.call("POST", `/orders/${orderId}/items`, { sku, quantity: 1 });
    await h.call("POST", `/orders/${orderId}/place`, { paymentToken: "tok_ok" });
    orderIds.push(orderId);
  }
  for (const orderId of orderIds)
    await until(
      `order ${orderId} confirmed`,
      async () => (await h.call("GET", `/orders/${orderId}`)).body.status === "CONFIRMED",
    );
  await until("every read model caught up", async () => {
    const head = await h.shop.store.headPosition();
    return (await Promise.all(h.shop.readModels.map((d) => h.shop.hasApplied(d.name, head)))).every(Boolean);
  });
}, 60_000);

afterAll(async () => {
  await h.close();
});

describe("the audit", () => {
  it("finds nothing after a clean run, for every read model and saga starter, and exits 0", async () => {
    const clean = await audit("--json", "--lag-seconds", "0");
    expect(clean.code).toBe(0);
    const report = JSON.parse(clean.out) as { findings: number; readModels: { readModel: string; eventsChecked: number }[] };
    expect(report.findings).toBe(0);
    expect(report.readModels.map((r) => r.readModel).sort()).toEqual(["catalog", "checkout", "customers", "orders", "sales"]);
    expect(report.readModels.find((r) => r.readModel === "orders")?.eventsChecked).toBeGreaterThan(5);
    await until("the consumer's own audit to run", async () => (await missingGauge()) === 0);
  });

  it("finds an event deleted from a read model's tables behind its back, and a version the store does not have", async () => {
    const [first, second] = orderIds.map((id) => `order-${id}`) as [string, string];
    const [last] = await h.db.sql<{ version: number; event_id: string }[]>`
      select version, event_id::text from eventline_events where stream_id = ${first} order by version desc limit 1`;
    // The read model forgets the stream's last event: its inbox row, its applied version and its row.
    await h.db.sql.begin(async (tx) => {
      await tx`delete from eventline_inbox where consumer = 'orders' and event_id = ${last?.event_id as string}::uuid`;
      await tx`update eventline_consumer_streams set version = version - 1 where consumer = 'orders' and stream_id = ${first}`;
      await tx`delete from shop_orders where order_id = ${orderIds[0] as string}::uuid`;
      await tx`update eventline_consumer_streams set version = version + 3 where consumer = 'sales' and stream_id = ${second}`;
    });

    const found = await audit("--json", "--lag-seconds", "0");
    expect(found.code).toBe(1);
    const report = JSON.parse(found.out) as { findings: number; readModels: { readModel: string; findings: unknown[] }[] };
    expect(report.findings).toBe(2);
    const of = (name: string) => report.readModels.find((r) => r.readModel === name)?.findings;
    expect(of("orders")).toEqual([
      expect.objectContaining({ kind: "missing", streamId: first, version: last?.version, eventId: last?.event_id }),
    ]);
    expect(of("sales")).toEqual([expect.objectContaining({ kind: "unknown-version", streamId: second })]);

    // One read model by name, in the text form.
    const orders = await audit("orders", "--lag-seconds", "0");
    expect(orders.code).toBe(1);
    expect(orders.out).toContain(`missing  ${first}@${last?.version}`);
    // A lag longer than the events' age forgives the unapplied event; the unknown version stays a finding.
    expect((await audit("orders", "--lag-seconds", "3600")).code).toBe(0);

    // The consumer's incremental audit counts it too.
    await until("the consumer's gauge to count the missing event", async () => (await missingGauge()) === 1);
  }, 60_000);

  it("refuses an unknown read model or a lag that is not a number, with usage and exit 2", async () => {
    expect((await audit("nosuch")).code).toBe(2);
    expect((await audit("--lag-seconds", "soon")).code).toBe(2);
  });
});
