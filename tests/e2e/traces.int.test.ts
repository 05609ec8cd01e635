import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { staffBearer } from "../../scripts/bearer.ts";
import { type ReceivedSpan, startOtlpReceiver } from "../support/otlp-receiver.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { type RunningProcess, shopProcessEnv, startShop, stopShop } from "../support/processes.ts";
import { waitFor } from "../support/wait-for.ts";

let db: TestDatabase;
let env: Record<string, string>;
let base = "";
let staff: Record<string, string>;
const receiver = startOtlpReceiver();
const running: RunningProcess[] = [];

async function post(path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...staff },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

beforeAll(async () => {
  staff = await staffBearer();
  db = await createTestDatabase();
  ({ env, base } = shopProcessEnv(db, "traces", {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: "100",
    SAGA_LEASE_MS: "3000",
  }));
  running.push(...(await startShop(env, base)));
}, 40_000);

afterAll(async () => {
  await stopShop(running, env);
  receiver.stop();
  await db.drop();
}, 30_000);

describe("OpenTelemetry traces", () => {
  it("show one order's checkout as one trace: the API's command, the relay's publishes, the consumers' applies and every saga step", async () => {
    const sku = `TRACE-${crypto.randomUUID().slice(0, 8)}`;
    await post("/products", { sku, name: "Lamp", price: 1500 });
    await post(`/inventory/${sku}/receipts`, { quantity: 5 });
    const customerId = (await post("/customers", { name: "Trace Tester", email: "trace@example.com" })).body.customerId as string;
    const orderId = (await post("/orders", { customerId })).body.orderId as string;
    await post(`/orders/${orderId}/items`, { sku, quantity: 1 });
    expect((await post(`/orders/${orderId}/place`, { paymentToken: "tok_ok" })).status).toBe(200);

    const root = await waitFor(
      "the place request's span",
      () =>
        receiver.spans.find(
          (s) => s.name === "POST /orders/:orderId/place" && s.attributes["url.path"] === `/orders/${orderId}/place`,
        ),
      (s) => s !== undefined,
    );
    const inTrace = () => receiver.spans.filter((s) => s.traceId === root?.traceId);
    const steps = ["order", "charge", "reserve", "confirm", "notify"].map((step) => `saga checkout ${step}`);
    // The last step's events reach the relay and a consumer; wait until they have been exported too.
    const spans = await waitFor(
      "the whole checkout's spans",
      inTrace,
      (all) =>
        steps.every((name) => all.some((s) => s.name === name)) &&
        all.some((s) => s.name === "command ConfirmOrder") &&
        all.filter((s) => s.service === "shop-relay").length >= 4,
      45_000,
    );
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);

    expect(root?.service).toBe("shop-api");
    expect(root?.parentSpanId).toBeUndefined();
    // Parent links intact: every span of the trace but the request's hangs under one the trace holds.
    const orphans = spans.filter((s) => s !== root && !parentOf(s)).map((s) => `${s.service} ${s.name}`);
    expect(orphans).toEqual([]);

    const place = spans.find((s) => s.name === "command PlaceOrder");
    expect(parentOf(place as ReceivedSpan)).toBe(root);
    // The relay publishes under the command that appended the event, across the process boundary.
    const publishes = spans.filter((s) => s.service === "shop-relay" && s.name.startsWith("publish "));
    expect(publishes.some((s) => parentOf(s) === place)).toBe(true);
    expect(publishes.every((s) => parentOf(s)?.name.startsWith("command "))).toBe(true);
    expect(publishes[0]?.attributes).toMatchObject({ "messaging.system": "rabbitmq", "messaging.operation.type": "send" });
    // Every saga step continues the trace of the OrderPlaced event, under the place command.
    for (const name of steps) {
      const step = spans.find((s) => s.name === name);
      expect({ name, service: step?.service, parent: step && parentOf(step)?.name }).toEqual({
        name,
        service: "shop-saga",
        parent: "command PlaceOrder",
      });
    }
    // The step's commands are its children, so what they append is traced too.
    const confirm = spans.find((s) => s.name === "command ConfirmOrder");
    expect(parentOf(confirm as ReceivedSpan)?.name).toBe("saga checkout confirm");

    // Each consumer's apply is a child of a publish (a batch of one) or links to it (a batch of many).
    const applied = await waitFor(
      "the consumers' applies",
      () => receiver.spans.filter((s) => s.service === "shop-consumer-all" && s.name.startsWith("process ")),
      (all) => all.some((s) => s.traceId === root?.traceId || s.links.some((l) => l.traceId === root?.traceId)),
    );
    const ofThisTrace = applied.filter((s) => s.traceId === root?.traceId || s.links.some((l) => l.traceId === root?.traceId));
    const everySpan = new Map(receiver.spans.map((s) => [s.spanId, s]));
    for (const s of ofThisTrace) {
      const link = s.links.find((l) => l.traceId === root?.traceId);
      const from = everySpan.get((s.traceId === root?.traceId ? s.parentSpanId : link?.spanId) ?? "");
      expect({ apply: s.name, from: from?.name.startsWith("publish ") }).toEqual({ apply: s.name, from: true });
    }
    expect(new Set(ofThisTrace.map((s) => s.name)).has("process orders")).toBe(true);
  }, 90_000);
});
