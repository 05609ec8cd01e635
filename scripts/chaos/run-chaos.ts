/**
 * The chaos run: the API, relay, consumers, saga and the payment provider as real processes under a
 * bounded command load, while crash faults are injected: Postgres and RabbitMQ killed with SIGKILL (every
 * process lives through both without a restart of its own), a broker memory alarm longer than the
 * relay's retry budget, a transaction held open across a rebuild, the relay killed between its confirms
 * and its delete, the saga killed between the provider's answer and its append, consumers and API killed.
 * Each fault proves it bit. Then the run waits for the system to settle and judges it against the
 * client's own record of every answer and the provider's table of charges and refunds.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { createShop } from "../../examples/shop/create-shop.ts";
import { connect } from "../../src/store/connect.ts";
import { bearer, staffBearer } from "../bearer.ts";
import { deleteBrokerObjects } from "../broker-cleanup.ts";
import { ensureCluster, ensureInfraEnv, root } from "../infra-env.ts";
import { type RunningProcess, shopProcesses, shopProcessEnv, startProcess } from "../process-runner.ts";
import { check, type Findings, settle, windowsBetween } from "./chaos-checks.ts";
import { chaosFaults, clusterFaults, type FaultOutcome, queuesOnCluster } from "./chaos-faults.ts";
import { runLoad, type Seed, type Sent } from "./chaos-load.ts";

export type ChaosOptions = {
  durationMs: number;
  maxCommands: number;
  workers?: number;
  settleMs?: number;
  /** How long the broker alarm lasts (default 6 s; the relay's retry budget here is about 4 s). */
  alarmMs?: number;
  log?: (line: string) => void;
  /** Keep the run's schema afterwards, for inspection. */
  keep?: boolean;
  /**
   * On the local three-node RabbitMQ cluster (quorum queues), with two instances of every read model's
   * consumer, and nodes killed, stopped and restarted as the faults.
   */
  cluster?: boolean;
  /** Read models, inboxes and sagas in a second database (READ_DATABASE_URL); default: in cluster mode. */
  readDatabase?: boolean;
};

export type ChaosSummary = Findings & {
  commandsSent: number;
  accepted: number;
  unanswered: number;
  faults: FaultOutcome[];
  /** The load began before the first fault and was still sending after the last one. */
  loadSpannedFaults: boolean;
  settled: boolean;
  /** On the cluster: each consumer queue's type and consumers when the run settled. */
  queues?: Record<string, { type: string; consumers: number }>;
  /** The database the read models, inboxes and sagas lived in. */
  readDatabase: string;
  windowsWithout2xx: number;
  /** Each window between faults without a 2xx: which fault it followed and what answered instead. */
  emptyWindows: string[];
  errorsOutsideFaults: number;
  errorDetails: string[];
};

/** Whether a summary shows a run that was tried hard and kept every promise. */
export function isClean(s: ChaosSummary): boolean {
  const differing = Object.values(s.readModelRowsDiffering).reduce((a, b) => a + b, 0);
  return (
    s.accepted > 0 &&
    s.faults.length > 0 &&
    s.faults.every((f) => f.bit && !f.violation) &&
    s.loadSpannedFaults &&
    s.settled &&
    s.eventsLost === 0 &&
    Object.values(s.auditFindings).every((n) => n === 0) &&
    s.answersWithoutPosition === 0 &&
    s.duplicateCharges + s.duplicateRefunds + s.duplicateReservations + s.duplicateOutcomes === 0 &&
    s.inconsistentOrders === 0 &&
    differing === 0 &&
    s.ordersShownWrong === 0 &&
    s.stuckSagas === 0 &&
    s.stockReceivedOutOfRange === 0 &&
    s.parkedStreams === 0 &&
    s.ordersConfirmed > 0 &&
    s.ordersCancelled > 0 &&
    s.windowsWithout2xx === 0 &&
    s.errorsOutsideFaults === 0
  );
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
  const nodes = options.cluster ? await ensureCluster(3) : [AMQP_URL];
  const tag = crypto.randomUUID().slice(0, 8);
  const schema = `chaos_${tag}`;
  const admin = connect(DATABASE_URL, { max: 1 });
  await admin.unsafe(`create schema ${schema}`);
  const readDatabase = options.readDatabase ?? options.cluster ?? false;
  let READ_DATABASE_URL = DATABASE_URL;
  if (readDatabase) {
    const [exists] = await admin`select 1 from pg_database where datname = 'eventline_read'`;
    if (!exists) await admin.unsafe("create database eventline_read");
    const u = new URL(DATABASE_URL);
    u.pathname = "/eventline_read";
    READ_DATABASE_URL = u.toString();
    const readAdmin = connect(READ_DATABASE_URL, { max: 1 });
    await readAdmin.unsafe(`create schema ${schema}`);
    await readAdmin.end();
  }
  await admin.end();
  const shopEnv = shopProcessEnv("chaos", tag);
  const base = shopEnv.base;
  const env: Record<string, string> = {
    ...shopEnv.env,
    DATABASE_URL,
    READ_DATABASE_URL,
    AMQP_URL: nodes.join(","),
    DATABASE_SCHEMA: schema,
    SAGA_LEASE_MS: "3000",
    // A small retry budget (three attempts, 1 s confirm timeout), so the broker alarm outlasts it.
    RELAY_MAX_ATTEMPTS: "3",
    RELAY_CONFIRM_TIMEOUT_MS: "1000",
    LOG_LEVEL: "warn",
  };
  const migrate = spawnSync(process.execPath, [join(root, "examples", "shop", "main.ts"), "migrate"], {
    env: { ...process.env, ...env },
    stdio: "ignore",
  });
  if (migrate.status !== 0) throw new Error("migrate failed");

  // On the cluster every read model's consumer runs twice, and each process is told the nodes in another
  // order, so their connections (and the queues they declare first) spread over the nodes.
  const roles: Record<string, string[]> = options.cluster
    ? { ...shopProcesses, consumers: ["consumer", "all"], "consumers-2": ["consumer", "all"] }
    : shopProcesses;
  const running = new Map<string, RunningProcess>();
  const start = (name: string, extraEnv: Record<string, string> = {}) => {
    const turn = Object.keys(roles).indexOf(name) % nodes.length;
    const amqp = [...nodes.slice(turn), ...nodes.slice(0, turn)].join(",");
    const p = startProcess(name, roles[name] as string[], { ...env, AMQP_URL: amqp, ...extraEnv });
    running.set(name, p);
    return p;
  };
  for (const name of Object.keys(roles)) start(name);
  await until("the api", async () => (await fetch(`${base}/health`)).status === 200);
  await until("the payment provider", async () => (await fetch(`${env.PAYMENT_PROVIDER_URL}/health`)).status === 200);

  const sql = connect(DATABASE_URL, { max: 4, schema });
  const readSql = readDatabase ? connect(READ_DATABASE_URL, { max: 4, schema }) : sql;
  const databases = { sql, readSql };
  const shop = createShop({ sql, readSql, notifyChannel: env.NOTIFY_CHANNEL });
  // On the cluster, each queue has exactly this many consumers: two instances of every read model's consumer, and the saga's one.
  const consumersWanted: Record<string, number> = {
    ...Object.fromEntries(shop.readModels.map((d) => [d.name, 2])),
    checkout: 1,
  };
  const queuesOff = (queues: Record<string, { consumers: number }>) =>
    Object.entries(consumersWanted).filter(([name, n]) => (queues[name]?.consumers ?? 0) !== n);
  if (options.cluster) {
    // Quorum queues take a moment to form on three nodes; an event published before its only queue exists
    // comes back unroutable and spends the relay's attempts. Both instances of each consumer are on first.
    await until(
      "every consumer on its queue",
      async () => queuesOff(await queuesOnCluster(env.QUEUE_PREFIX as string)).length === 0,
    );
  }
  try {
    // Seed: a few products with stock, and customers.
    const staff = await staffBearer(env);
    const post = async (path: string, body: unknown, auth: Record<string, string> = staff) => {
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth },
        body: JSON.stringify(body),
      });
      if (res.status >= 300) throw new Error(`seed ${path} answered ${res.status}`);
      return (await res.json()) as Record<string, string>;
    };
    const seed: Seed = { skus: [], customers: [], staff, tokenFor: (id) => bearer(id, [], env) };
    const seedQuantity = new Map<string, number>();
    for (let i = 0; i < 4; i++) {
      const sku = `CHAOS-${tag}-${i}`;
      const { productId } = await post("/products", { sku, name: `Chaos ${i}`, price: 500 + i * 100 });
      await post(`/inventory/${sku}/receipts`, { quantity: 40 });
      seed.skus.push({ sku, productId: productId as string });
      seedQuantity.set(sku, 40);
    }
    // Each customer signs up with a token of their own and orders with it.
    for (let i = 0; i < 5; i++) {
      const id = crypto.randomUUID();
      const auth = await seed.tokenFor(id);
      await post("/customers", { name: `Chaos ${i}`, email: `c${i}@example.com` }, auth);
      seed.customers.push({ id, auth });
    }

    // Load, with the faults spread over it.
    // Paced so that `maxCommands` would take `durationMs`; it runs on until the last fault has had a tail
    // of answers after it (a slow fault stretches the run), with three times the budget and time as bounds.
    const sent: Sent[] = [];
    const workers = options.workers ?? 3;
    let loadUntil = Number.POSITIVE_INFINITY;
    const load = runLoad(
      {
        base,
        seed,
        workers,
        maxCommands: options.maxCommands * 3,
        pauseMs: (options.durationMs * workers) / options.maxCommands,
        done: () => Date.now() > loadUntil,
        deadline: Date.now() + options.durationMs * 3 + 120_000,
      },
      sent,
    );
    const faults = options.cluster
      ? clusterFaults({ log })
      : chaosFaults({
          sql,
          readSql,
          databaseUrl: DATABASE_URL,
          schema,
          shop,
          running,
          start,
          alarmMs: options.alarmMs ?? 6_000,
          holdMs: 3_000,
          apiAnswers: () => until("the new api", async () => (await fetch(`${base}/health`)).status === 200),
          log,
        });
    const outcomes: FaultOutcome[] = [];
    // A quiet gap before each fault, counted from the end of the one before, so every window between two
    // faults has answers in it however long a fault took.
    const gap = options.durationMs / (faults.length + 1);
    for (const fault of faults) {
      await new Promise((r) => setTimeout(r, gap));
      log(`chaos: ${fault.name}`);
      const startedAt = Date.now();
      const proof = await fault.inject().catch((error) => ({ bit: false, evidence: `failed: ${String(error)}` }));
      outcomes.push({ name: fault.name, startedAt, endedAt: Date.now(), ...proof });
      log(`chaos:   ${proof.bit ? "bit" : "DID NOT BITE"}: ${proof.evidence}`);
    }
    loadUntil = Date.now() + gap;
    await load;
    log(`chaos: load done (${sent.length} commands); waiting for the system to settle`);
    const { settled, waitedMs } = await settle(databases, shop, options.settleMs ?? 90_000);
    log(`chaos: ${settled ? "settled" : "did NOT settle"} after ${Math.round(waitedMs / 1000)} s`);
    const findings = await check(databases, shop, sent, seedQuantity);
    const queues = options.cluster ? await queuesOnCluster(env.QUEUE_PREFIX as string) : undefined;
    if (!settled || (queues && queuesOff(queues).length > 0)) {
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
    const faultTimes = outcomes.map((o) => o.startedAt);
    return {
      commandsSent: sent.length,
      accepted: sent.filter((s) => s.status >= 200 && s.status < 300).length,
      unanswered: sent.filter((s) => s.unknown).length,
      faults: outcomes,
      loadSpannedFaults:
        sent.length > 0 &&
        faultTimes.length > 0 &&
        Math.min(...sent.map((s) => s.at)) < Math.min(...faultTimes) &&
        Math.max(...sent.map((s) => s.at)) > Math.max(...outcomes.map((o) => o.endedAt)),
      settled,
      queues,
      readDatabase: new URL(READ_DATABASE_URL).pathname.slice(1),
      ...windowsBetween(sent, outcomes, 5_000),
      ...findings,
    };
  } finally {
    for (const p of running.values()) await p.stop("SIGTERM");
    await sql.end({ timeout: 5 });
    if (readSql !== sql) await readSql.end({ timeout: 5 });
    await deleteBrokerObjects(nodes, {
      consumers: [...shop.readModels.map((d) => d.name), "checkout"],
      prefix: env.QUEUE_PREFIX as string,
      exchanges: [env.EVENTS_EXCHANGE as string],
    }).catch((e) => log(`chaos: broker cleanup failed: ${e}`));
    if (!options.keep) {
      for (const url of new Set([DATABASE_URL, READ_DATABASE_URL])) {
        const a = connect(url, { max: 1 });
        await a.unsafe(`drop schema ${schema} cascade`);
        await a.end();
      }
    }
  }
}

export function formatSummary(s: ChaosSummary): string {
  const differing = Object.values(s.readModelRowsDiffering).reduce((a, b) => a + b, 0);
  return [
    "chaos summary",
    `  commands sent          ${s.commandsSent}`,
    `  accepted (2xx)         ${s.accepted}`,
    `  unanswered             ${s.unanswered}`,
    `  faults                 ${s.faults.length}, ${s.faults.filter((f) => f.bit).length} bit`,
    ...s.faults.map(
      (f) => `    ${f.bit ? "bit " : "MISS"} ${f.name}: ${f.evidence}${f.violation ? ` — VIOLATION: ${f.violation}` : ""}`,
    ),
    `  load spanned faults    ${s.loadSpannedFaults}`,
    `  settled                ${s.settled}`,
    `  read side in database  ${s.readDatabase}`,
    ...(s.queues
      ? [
          `  queues (type, consumers) ${Object.entries(s.queues)
            .map(([q, v]) => `${q} ${v.type} ${v.consumers}`)
            .join(", ")}`,
        ]
      : []),
    `  windows without 2xx    ${s.windowsWithout2xx}${s.emptyWindows.length ? ` (${s.emptyWindows.join("; ")})` : ""}`,
    `  5xx outside faults     ${s.errorsOutsideFaults}${s.errorDetails.length ? ` (${s.errorDetails.join("; ")})` : ""}`,
    `  orders confirmed       ${s.ordersConfirmed}, cancelled ${s.ordersCancelled}`,
    `  events lost            ${s.eventsLost}${s.lostDetails.length ? ` (${s.lostDetails.join("; ")})` : ""}`,
    `  2xx without position   ${s.answersWithoutPosition}`,
    `  duplicate charges      ${s.duplicateCharges} (provider's table)`,
    `  duplicate refunds      ${s.duplicateRefunds} (provider's table)`,
    `  duplicate reservations ${s.duplicateReservations}`,
    `  duplicate outcomes     ${s.duplicateOutcomes} (placed, confirmed or cancelled twice)`,
    `  inconsistent orders    ${s.inconsistentOrders}${s.orderDetails.length ? ` (${s.orderDetails.join("; ")})` : ""}`,
    `  read-model rows off    ${differing} ${JSON.stringify(s.readModelRowsDiffering)}`,
    `  audit findings         ${JSON.stringify(s.auditFindings)}${s.auditDetails.length ? ` (${s.auditDetails.join("; ")})` : ""}`,
    `  orders shown wrong     ${s.ordersShownWrong} (orders read model against the events, in plain SQL)`,
    `  stuck sagas            ${s.stuckSagas}`,
    `  parked streams         ${s.parkedStreams}${s.parkedDetails.length ? ` (${s.parkedDetails.join("; ")})` : ""}`,
    `  stock receipts out of range ${s.stockReceivedOutOfRange}`,
    `  verdict                ${isClean(s) ? "clean" : "NOT CLEAN"}`,
  ].join("\n");
}
