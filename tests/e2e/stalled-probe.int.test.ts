import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { root } from "../../scripts/infra-env.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { amqpUrl } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { freePort, type RunningProcess, shopProcessEnv, startProcess } from "../support/processes.ts";
import { waitFor } from "../support/wait-for.ts";

let db: TestDatabase;
let env: Record<string, string>;
let probe = "";
const running: RunningProcess[] = [];

function infra(command: string) {
  const r = spawnSync("bash", [join(root, "scripts", "infra"), command], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`scripts/infra ${command} failed: ${r.stderr}`);
}

async function health(): Promise<{ status: number; body: { status?: string; stalled?: { part: string }[] } }> {
  const res = await fetch(`${probe}/health`);
  return { status: res.status, body: (await res.json()) as never };
}

beforeAll(async () => {
  db = await createTestDatabase();
  const probePort = freePort();
  ({ env } = shopProcessEnv(db, "stall", {
    CONSUMER_METRICS_PORT: String(probePort),
    // One delivery at a time, each held 2 s: a backlog that lasts, progress every couple of seconds.
    CONSUMER_PREFETCH: "1",
    EVENTLINE_FAULT: "consumer-hold-delivery",
    EVENTLINE_STALL_SECONDS: "3",
    EVENTLINE_STALL_EXIT_SECONDS: "0",
  }));
  probe = `http://127.0.0.1:${probePort}`;
  running.push(startProcess("relay", ["relay"], { ...env, EVENTLINE_FAULT: "" }));
  running.push(startProcess("consumer", ["consumer", "orders"], env));
  await waitFor("the consumer's probe", health, (h) => h.status === 200, 30_000);
}, 40_000);

afterAll(async () => {
  for (const p of running) await p.stop("SIGTERM");
  await deleteBrokerObjects(amqpUrl(), {
    consumers: ["orders"],
    prefix: env.QUEUE_PREFIX,
    exchanges: [env.EVENTS_EXCHANGE as string],
  });
  await db.drop();
}, 30_000);

describe("a consumer's health probe", () => {
  it("reports not-live while Postgres is down under its backlog, and live again once it recovers, without a restart", async () => {
    const store = createPostgresEventStore({ sql: db.sql, notifyChannel: env.NOTIFY_CHANNEL });
    const orders = Array.from({ length: 4 }, () => crypto.randomUUID());
    for (const orderId of orders)
      await store.appendToStream(`order-${orderId}`, [
        { type: "OrderCreated", data: { orderId, customerId: crypto.randomUUID() } },
      ]);
    const applied = async () =>
      (await db.sql<{ n: number }[]>`select count(*)::int as n from eventline_inbox where consumer = 'orders'`)[0]?.n ?? 0;
    await waitFor("the first applied event", applied, (n) => n >= 1, 30_000).catch((error) => {
      for (const p of running) console.log(`on failure: ${p.name} log\n${p.lines.slice(-15).join("\n")}`);
      throw error;
    });
    expect((await health()).status).toBe(200);
    const consumer = running[1] as RunningProcess;

    infra("stop-postgres");
    let down: Awaited<ReturnType<typeof health>>;
    let metrics = "";
    try {
      // Down for longer than the stall time: the consumer's own part stalls too, not only its sweep.
      down = await waitFor(
        "the consumer reported stalled",
        health,
        (h) => h.status === 503 && (h.body.stalled ?? []).some((s) => s.part === "consumer orders"),
        25_000,
      );
      metrics = await fetch(`${probe}/metrics`).then((r) => r.text());
    } finally {
      infra("start-postgres");
    }
    expect(down.body.status).toBe("stalled");
    expect(metrics).toMatch(/eventline_live 0/);

    await waitFor("a live probe", health, (h) => h.status === 200, 60_000);
    await waitFor("every event applied", applied, (n) => n === orders.length, 60_000);
    // The same process recovered by itself: it never exited.
    const exited = await Promise.race([consumer.exited.then(() => true), Bun.sleep(10).then(() => false)]);
    expect(exited).toBe(false);
  }, 150_000);
});
