/**
 * The chaos run's faults. Each one is injected, then proves it bit: a server's PID and start time changed,
 * a process died by the signal it was sent (or sent itself at its fault point), an alarm held the outbox
 * back, a transaction held the horizon while a rebuild ran. A fault that cannot prove itself fails the run.
 */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import type { Sql } from "postgres";
import { rebuildReadModel } from "../../src/consumers/rebuild.ts";
import type { createShop } from "../../examples/shop/create-shop.ts";
import { connect } from "../../src/store/connect.ts";
import { oldestTransaction } from "../../src/store/horizon.ts";
import { root } from "../infra-env.ts";
import type { RunningProcess } from "../process-runner.ts";

/** `violation`: what the system did wrong during the fault itself (spent an attempt during an alarm, say). */
export type FaultProof = { bit: boolean; evidence: string; violation?: string };
export type FaultOutcome = FaultProof & { name: string; startedAt: number; endedAt: number };

export type Fault = { name: string; inject: () => Promise<FaultProof> };

export type FaultDeps = {
  sql: Sql;
  /** Where the read models live (READ_DATABASE_URL): the same database as `sql`, or another. */
  readSql: Sql;
  databaseUrl: string;
  schema: string;
  shop: ReturnType<typeof createShop>;
  running: Map<string, RunningProcess>;
  start: (name: string, extraEnv?: Record<string, string>) => RunningProcess;
  /** How long the broker alarm lasts: longer than the relay's whole retry budget. */
  alarmMs: number;
  /** How long the transaction is held open around the rebuild. */
  holdMs: number;
  /** Resolves once the API answers its health check. */
  apiAnswers: () => Promise<void>;
  log: (line: string) => void;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `scripts/infra` without blocking: the load runs in this process, and a synchronous spawn would stop
 * it for as long as a server takes to restart (23 s for RabbitMQ on a busy machine).
 */
function runInfra(args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    // Its own process group, so a timeout ends rabbitmqctl and the rest with it: an orphaned
    // `rabbitmqctl stop` once stopped a node started later.
    const child = spawn("bash", [join(root, "scripts", "infra"), ...args], {
      stdio: ["ignore", "pipe", "inherit"],
      detached: true,
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    }, timeoutMs);
    const done = (status: number | null) => {
      clearTimeout(timer);
      resolve({ status, stdout });
    };
    child.on("error", () => done(null));
    // On close, once its output is all read; the servers it starts write to their own log files.
    child.on("close", (status) => done(status));
  });
}

async function infra(...args: string[]): Promise<string> {
  const r = await runInfra(args, 180_000);
  if (r.status !== 0) throw new Error(`scripts/infra ${args.join(" ")} failed`);
  return r.stdout;
}

const serverPids = async () => {
  const [, pg, , mq] = (await infra("pids")).trim().split(/\s+/);
  return { postgres: pg ?? "", rabbitmq: mq ?? "" };
};

async function postmasterStart(sql: Sql): Promise<string> {
  for (let i = 0; i < 100; i++) {
    try {
      const [row] = await sql<{ t: string }[]>`select pg_postmaster_start_time()::text as t`;
      return row?.t ?? "";
    } catch {
      await sleep(200);
    }
  }
  throw new Error("postgres did not come back");
}

/** Waits for a process to exit by itself (at its fault point); true when it died by `signal`. */
async function diedBy(p: RunningProcess, signal: string, ms: number): Promise<boolean> {
  const exited = await Promise.race([p.exited.then(() => true), sleep(ms).then(() => false)]);
  return exited && p.signal() === signal;
}

export function chaosFaults(deps: FaultDeps): Fault[] {
  const { running, start, log } = deps;
  /** Replaces a process by one started with a fault point, waits for it to hit it, then starts a healthy one. */
  const faultPoint = (name: string, fault: string, line: string) => async () => {
    await running.get(name)?.stop("SIGTERM");
    const faulty = start(name, { EVENTLINE_FAULT: fault });
    // Only the fault point sends this process a SIGKILL, so dying by one proves it was reached (its log
    // line may not be flushed before it dies).
    const bit = await diedBy(faulty, "SIGKILL", 30_000);
    const logged = faulty.lines.some((l) => l.includes(line));
    if (!bit) await faulty.stop("SIGKILL");
    start(name);
    return { bit, evidence: `exit by ${faulty.signal() ?? "nothing"}, fault line logged: ${logged}` };
  };
  const killed = (name: string) => async () => {
    const p = running.get(name);
    if (!p) return { bit: false, evidence: `${name} was not running` };
    await p.stop("SIGKILL");
    const replacement = start(name);
    return {
      bit: p.signal() === "SIGKILL" && replacement.pid !== p.pid,
      evidence: `pid ${p.pid} died by ${p.signal()}, now ${replacement.pid}`,
    };
  };
  return [
    {
      name: "Postgres crashed (SIGKILL of the postmaster) and recovered",
      inject: async () => {
        const before = { pid: (await serverPids()).postgres, started: await postmasterStart(deps.sql) };
        await infra("crash-postgres");
        const after = { pid: (await serverPids()).postgres, started: await postmasterStart(deps.sql) };
        return {
          bit: before.pid !== after.pid && before.started !== after.started,
          evidence: `postmaster ${before.pid} started ${before.started} -> ${after.pid} started ${after.started}`,
        };
      },
    },
    {
      name: "RabbitMQ crashed (SIGKILL) and restarted",
      inject: async () => {
        const before = (await serverPids()).rabbitmq;
        await infra("crash-rabbitmq");
        const after = (await serverPids()).rabbitmq;
        return { bit: before !== after && after !== "", evidence: `broker pid ${before} -> ${after}` };
      },
    },
    {
      name: `RabbitMQ memory alarm for ${deps.alarmMs / 1000} s, longer than the relay's retry budget`,
      inject: async () => {
        await infra("rabbitmqctl", "set_vm_memory_high_watermark", "absolute", "1MB");
        try {
          // The first event appended once the alarm is on must still be waiting when it ends: nothing
          // could be published. No row may have spent an attempt on it meanwhile.
          const raised = Date.now();
          let first: number | undefined;
          let highestAttempts = 0;
          while (Date.now() - raised < deps.alarmMs) {
            const [row] = await deps.sql<{ first: number | null; attempts: number }[]>`
              select min(position) filter (where created_at > to_timestamp(${raised / 1000})) as first,
                     coalesce(max(attempts), 0)::int as attempts from eventline_outbox`;
            first ??= row?.first ?? undefined;
            highestAttempts = Math.max(highestAttempts, row?.attempts ?? 0);
            await sleep(250);
          }
          const [still] = first === undefined ? [] : await deps.sql`select 1 from eventline_outbox where position = ${first}`;
          return {
            bit: still !== undefined,
            evidence: `event at ${first ?? "none"} appended during the alarm ${still ? "still waiting" : "gone"} at its end; highest attempt count ${highestAttempts}`,
            violation: highestAttempts > 0 ? `rows spent ${highestAttempts} attempts during the alarm` : undefined,
          };
        } finally {
          await infra("rabbitmqctl", "set_vm_memory_high_watermark", "0.4");
        }
      },
    },
    {
      name: "a transaction held open across a rebuild of the orders read model",
      inject: async () => {
        const other = connect(deps.databaseUrl, { max: 1, schema: deps.schema, applicationName: "chaos-held-transaction" });
        const held = await other.reserve();
        try {
          await held`begin`;
          const [{ xid }] = (await held`select pg_current_xact_id()::text as xid`) as unknown as [{ xid: string }];
          const def = deps.shop.readModels.find((d) => d.name === "orders");
          if (!def) throw new Error("no orders read model");
          const started = Date.now();
          // Wait until the live consumer has applied an order event committed past the held horizon: the
          // rebuild's copy cannot see it through the horizon, and must still not lack it.
          let past: number | undefined;
          while (!past && Date.now() - started < 20_000) {
            const [row] = await deps.sql<{ position: number }[]>`
              select max(position) as position from eventline_events where category = 'order' and transaction_id > ${xid}::xid8`;
            if (row?.position && (await deps.shop.hasApplied("orders", row.position))) past = row.position;
            else await sleep(100);
          }
          const rebuilt = await rebuildReadModel({ sql: deps.readSql, store: deps.shop.store, def });
          await sleep(Math.max(0, deps.holdMs - (Date.now() - started)));
          const age = (await oldestTransaction(deps.sql)).ageSeconds;
          return {
            bit: past !== undefined && age * 1000 >= deps.holdMs * 0.9,
            evidence: `rebuilt from ${rebuilt.applied} events while a transaction was open for ${age.toFixed(1)} s; the live model had applied position ${past ?? "none"} past its horizon`,
          };
        } finally {
          await held`rollback`.catch(() => {});
          held.release();
          await other.end({ timeout: 1 });
        }
      },
    },
    {
      name: "relay killed between the broker's confirms and deleting the rows",
      inject: faultPoint("relay", "relay-crash-after-confirm", "fault injected: crashing after confirm"),
    },
    {
      name: "saga killed between the provider's answer and appending it",
      inject: faultPoint("saga", "saga-crash-after-provider", "fault injected: crashing after the provider answered"),
    },
    { name: "consumers killed (SIGKILL) and restarted", inject: killed("consumers") },
    {
      name: "API killed (SIGKILL) and restarted",
      inject: async () => {
        const outcome = await killed("api")();
        // The fault lasts until the new API answers: its boot is part of the crash, and the quiet window
        // after the fault must measure the API that is up, not a slow start (a window without a 2xx).
        log("chaos: waiting for the new API");
        await deps.apiAnswers();
        return outcome;
      },
    },
  ];
}

/** What rabbitmqctl printed against cluster node `node`; empty when the node does not answer. */
async function clusterCtl(node: number, ...args: string[]): Promise<string> {
  const r = await runInfra(["cluster-ctl", String(node), ...args], 60_000);
  return r.status === 0 ? r.stdout : "";
}

/** How many client connections a cluster node holds (0 when it does not answer). */
const connectionsOn = async (node: number) =>
  (await clusterCtl(node, "list_connections", "name")).split("\n").filter((l) => l.trim() !== "").length;

const runningNodes = async (via: number) => (await clusterCtl(via, "eval", "rabbit_nodes:all_running().")).trim();

/**
 * The cluster run's faults, under the same load: node 1 dies (SIGKILL, nothing confirmed or closed), comes
 * back and rejoins; then node 2 is stopped cleanly and later started again. Each proves it bit: the node
 * held client connections when it went, and the cluster's running nodes changed as said.
 */
export function clusterFaults(deps: { log: (line: string) => void }): Fault[] {
  const gone = (node: number, how: "cluster-kill" | "cluster-stop") => async (): Promise<FaultProof> => {
    const pid = (await infra("cluster-pid", String(node))).trim();
    const clients = await connectionsOn(node);
    await infra(how, String(node));
    const other = node === 1 ? 2 : 1;
    await sleep(1_000);
    const running = await runningNodes(other);
    const alive = spawnSync("kill", ["-0", pid]).status === 0;
    deps.log(`chaos:   node ${node} had ${clients} client connections; running now: ${running}`);
    return {
      bit: !alive && clients > 0 && !running.includes(`eventline-${node}@`),
      evidence: `node ${node} (pid ${pid}) held ${clients} client connections, ${alive ? "still alive" : "gone"}; running nodes ${running}`,
    };
  };
  const back = (node: number) => async (): Promise<FaultProof> => {
    const before = (await infra("cluster-pid", String(node))).trim();
    await infra("cluster-start", String(node));
    const after = (await infra("cluster-pid", String(node))).trim();
    const running = await runningNodes(node);
    return {
      bit: after !== "" && after !== before && running.includes(`eventline-${node}@`),
      evidence: `node ${node} pid ${before || "none"} -> ${after}; running nodes ${running}`,
    };
  };
  return [
    { name: "RabbitMQ node 1 killed (SIGKILL)", inject: gone(1, "cluster-kill") },
    { name: "RabbitMQ node 1 started again and rejoined", inject: back(1) },
    { name: "RabbitMQ node 2 stopped (a clean shutdown)", inject: gone(2, "cluster-stop") },
    { name: "RabbitMQ node 2 started again and rejoined", inject: back(2) },
  ];
}

/** Each queue with this prefix (named without it): its type and how many consumers it has now (asked of a cluster node). */
export async function queuesOnCluster(prefix: string, via = 3): Promise<Record<string, { type: string; consumers: number }>> {
  const queues: Record<string, { type: string; consumers: number }> = {};
  for (const line of (await clusterCtl(via, "list_queues", "name", "type", "consumers")).split("\n")) {
    const [name, type, consumers] = line.trim().split(/\s+/);
    if (name?.startsWith(`${prefix}.`) && type) queues[name.slice(prefix.length + 1)] = { type, consumers: Number(consumers) };
  }
  return queues;
}
