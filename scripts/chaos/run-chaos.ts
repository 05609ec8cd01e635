/**
 * The chaos run: the API, relay, consumers and saga as real processes under a bounded command load, while
 * faults are injected (SIGKILL of relay, consumers and API; restarts of RabbitMQ and Postgres). Then it
 * waits for everything to settle and checks that nothing was lost and nothing was applied twice.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { createShop } from "../../src/shop/create-shop.ts";
import { connect } from "../../src/store/connect.ts";
import { deleteBrokerObjects } from "../broker-cleanup.ts";
import { ensureInfraEnv, root } from "../infra-env.ts";
import { freePort, type RunningProcess, startProcess } from "../process-runner.ts";
import { check, type Findings, settle } from "./chaos-checks.ts";
import { runLoad, type Seed, type Sent } from "./chaos-load.ts";

export type ChaosOptions = {
  durationMs: number;
  maxCommands: number;
  workers?: number;
  settleMs?: number;
  log?: (line: string) => void;
  /** Keep the run's schema afterwards, for inspection. */
  keep?: boolean;
};

export type ChaosSummary = Findings & {
  commandsSent: number;
  accepted: number;
  unanswered: number;
  faultsInjected: string[];
  /** The load began before the first fault and was still sending after the last one. */
  loadSpannedFaults: boolean;
  settled: boolean;
  ordersConfirmed: number;
  ordersCancelled: number;
};

function infra(command: string) {
  const r = spawnSync("bash", [join(root, "scripts", "infra"), command], {
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 180_000,
  });
  if (r.status !== 0) throw new Error(`scripts/infra ${command} failed`);
}

async function until(what: string, test: () => Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await test().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { DATABASE_URL, AMQP_URL } = await ensureInfraEnv();
  const tag = crypto.randomUUID().slice(0, 8);
  const schema = `chaos_${tag}`;
  const admin = connect(DATABASE_URL, { max: 1 });
  await admin.unsafe(`create schema ${schema}`);
  await admin.end();
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL,
    AMQP_URL,
    DATABASE_SCHEMA: schema,
    EVENTS_EXCHANGE: `chaos.${tag}`,
    QUEUE_PREFIX: `chaos.${tag}`,
    NOTIFY_CHANNEL: `chaos_${tag}`,
    PORT: String(port),
    RELAY_METRICS_PORT: "0",
    CONSUMER_METRICS_PORT: "0",
    SAGA_METRICS_PORT: "0",
    SAGA_LEASE_MS: "3000",
    LOG_LEVEL: "warn",
  };
  const migrate = spawnSync(process.execPath, [join(root, "src", "main.ts"), "migrate"], {
    env: { ...process.env, ...env },
    stdio: "ignore",
  });
  if (migrate.status !== 0) throw new Error("migrate failed");

  const roles: Record<string, string[]> = { api: ["api"], relay: ["relay"], consumers: ["consumer", "all"], saga: ["saga"] };
  const running = new Map<string, RunningProcess>();
  const start = (name: string) => running.set(name, startProcess(name, roles[name] as string[], env));
  for (const name of Object.keys(roles)) start(name);
  const apiUp = () => until("the api", async () => (await fetch(`${base}/health`)).status === 200);
  await apiUp();

  const sql = connect(DATABASE_URL, { max: 4, schema });
  const shop = createShop({ sql, notifyChannel: env.NOTIFY_CHANNEL });
  try {
    // Seed: a few products with stock, and customers.
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status >= 300) throw new Error(`seed ${path} answered ${res.status}`);
      return (await res.json()) as Record<string, string>;
    };
    const seed: Seed = { skus: [], customers: [] };
    const seedQuantity = new Map<string, number>();
    for (let i = 0; i < 4; i++) {
      const sku = `CHAOS-${tag}-${i}`;
      const { productId } = await post("/products", { sku, name: `Chaos ${i}`, price: 500 + i * 100 });
      await post(`/inventory/${sku}/receipts`, { quantity: 40 });
      seed.skus.push({ sku, productId: productId as string });
      seedQuantity.set(sku, 40);
    }
    for (let i = 0; i < 5; i++)
      seed.customers.push((await post("/customers", { name: `Chaos ${i}`, email: `c${i}@example.com` })).customerId as string);

    // Load, with the faults spread over it.
    const sent: Sent[] = [];
    const load = runLoad(
      { base, seed, workers: options.workers ?? 3, maxCommands: options.maxCommands, durationMs: options.durationMs },
      sent,
    );
    const faults: [string, () => Promise<void>][] = [
      [
        "relay killed (SIGKILL) and restarted",
        async () => {
          await running.get("relay")?.stop("SIGKILL");
          start("relay");
        },
      ],
      [
        "consumers killed (SIGKILL) and restarted",
        async () => {
          await running.get("consumers")?.stop("SIGKILL");
          start("consumers");
        },
      ],
      [
        "RabbitMQ restarted",
        async () => {
          infra("stop-rabbitmq");
          await new Promise((r) => setTimeout(r, 1_000));
          infra("start-rabbitmq");
        },
      ],
      ["Postgres restarted", async () => infra("restart-postgres")],
      [
        "API killed (SIGKILL) and restarted",
        async () => {
          await running.get("api")?.stop("SIGKILL");
          start("api");
          await apiUp();
        },
      ],
      [
        "saga killed (SIGKILL) and restarted",
        async () => {
          await running.get("saga")?.stop("SIGKILL");
          start("saga");
        },
      ],
    ];
    const injected: string[] = [];
    const faultTimes: number[] = [];
    // Fault i at (i + 1) / (n + 1) of the run, measured from the start: a slow one cannot push the rest out.
    const gap = options.durationMs / (faults.length + 1);
    const loadStarted = Date.now();
    for (const [i, [name, inject]] of faults.entries()) {
      await new Promise((r) => setTimeout(r, Math.max(0, loadStarted + (i + 1) * gap - Date.now())));
      log(`chaos: ${name}`);
      faultTimes.push(Date.now());
      await inject();
      injected.push(name);
    }
    await load;
    log(`chaos: load done (${sent.length} commands); waiting for the system to settle`);
    const { settled, waitedMs } = await settle(sql, shop, options.settleMs ?? 90_000);
    log(`chaos: ${settled ? "settled" : "did NOT settle"} after ${Math.round(waitedMs / 1000)} s`);
    if (!settled) {
      // Whoever reads a failed run needs the processes' own account of it.
      for (const p of running.values()) {
        console.log(
          `chaos: last log lines of ${p.name}:\n${p.lines
            .filter((l) => !l.includes('"debug"'))
            .slice(-15)
            .join("\n")}`,
        );
      }
    }
    const findings = await check(sql, shop, sent, seedQuantity);
    const [orders] = await sql<{ confirmed: number; cancelled: number }[]>`
      select count(*) filter (where type = 'OrderConfirmed')::int as confirmed, count(*) filter (where type = 'OrderCancelled')::int as cancelled from events`;
    return {
      commandsSent: sent.length,
      accepted: sent.filter((s) => s.status >= 200 && s.status < 300).length,
      unanswered: sent.filter((s) => s.unknown).length,
      faultsInjected: injected,
      loadSpannedFaults:
        sent.length > 0 &&
        Math.min(...sent.map((s) => s.at)) < Math.min(...faultTimes) &&
        Math.max(...sent.map((s) => s.at)) > Math.max(...faultTimes),
      settled,
      ordersConfirmed: orders?.confirmed ?? 0,
      ordersCancelled: orders?.cancelled ?? 0,
      ...findings,
    };
  } finally {
    for (const p of running.values()) await p.stop("SIGTERM");
    await sql.end({ timeout: 5 });
    await deleteBrokerObjects(AMQP_URL, {
      consumers: [...shop.readModels.map((d) => d.name), "checkout"],
      prefix: env.QUEUE_PREFIX,
      exchanges: [env.EVENTS_EXCHANGE],
    }).catch((e) => log(`chaos: broker cleanup failed: ${e}`));
    if (!options.keep) {
      const a = connect(DATABASE_URL, { max: 1 });
      await a.unsafe(`drop schema ${schema} cascade`);
      await a.end();
    }
  }
}

export function formatSummary(s: ChaosSummary): string {
  const differing = Object.values(s.readModelRowsDiffering).reduce((a, b) => a + b, 0);
  return [
    "chaos summary",
    `  commands sent        ${s.commandsSent}`,
    `  accepted (2xx)       ${s.accepted}`,
    `  unanswered           ${s.unanswered}`,
    `  faults injected      ${s.faultsInjected.length} (${s.faultsInjected.join("; ")})`,
    `  load spanned faults  ${s.loadSpannedFaults}`,
    `  settled              ${s.settled}`,
    `  orders confirmed     ${s.ordersConfirmed}, cancelled ${s.ordersCancelled}`,
    `  events lost          ${s.eventsLost}`,
    `  duplicate effects    ${s.duplicateEffects}${s.duplicateDetails.length ? ` (${s.duplicateDetails.join(", ")})` : ""}`,
    `  read-model rows off  ${differing} ${JSON.stringify(s.readModelRowsDiffering)}`,
    `  stuck sagas          ${s.stuckSagas}`,
    `  charged, cancelled, not refunded  ${s.cancelledButCharged}`,
    `  stock receipts out of range       ${s.stockReceivedOutOfRange}`,
  ].join("\n");
}
