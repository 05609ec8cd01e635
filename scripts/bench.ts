/**
 * `bun run bench [--smoke]`: measures eventline against Emmett and the raw limits in one run, on the same
 * Postgres and RabbitMQ, in a database of its own. Prints a table and writes bench-results/latest.json.
 * `--smoke` runs every section for seconds only (CI does this); the numbers then mean nothing.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connect } from "../src/store/connect.ts";
import { benchAppends } from "./bench/appends.ts";
import { benchCompetingConsumers } from "./bench/competing-consumers.ts";
import { benchHttp, measureNoopTracing, measureTokenVerification } from "./bench/http.ts";
import { round } from "./bench/measure.ts";
import { benchReadModel } from "./bench/read-model.ts";
import { benchRebuild } from "./bench/rebuild.ts";
import { benchRuntimes } from "./bench/runtimes.ts";
import { benchRelay } from "./bench/relay.ts";
import { checkTargets } from "./bench/targets.ts";
import { type MachineLoad, withMachineLoad } from "./bench/machine-load.ts";
import { benchSnapshots } from "./bench/snapshots.ts";
import { startBenchShop } from "./bench/bench-shop.ts";
import { benchCheckouts } from "./bench/checkouts.ts";
import { peakMemory } from "./bench/peak-memory.ts";
import { benchQueries } from "./bench/queries.ts";
import { ensureInfraEnv, root } from "./infra-env.ts";
import { freePort } from "./process-runner.ts";

const { values } = parseArgs({ options: { smoke: { type: "boolean", default: false } } });
const smoke = values.smoke ?? false;

const { DATABASE_URL, AMQP_URL } = await ensureInfraEnv();
const admin = connect(DATABASE_URL, { max: 1 });
/** A new database by that name, migrated; its URL. */
async function freshDatabase(name: string): Promise<string> {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  const u = new URL(DATABASE_URL);
  u.pathname = `/${name}`;
  const migrated = spawnSync(process.execPath, [join(root, "examples", "shop", "main.ts"), "migrate"], {
    env: { ...process.env, DATABASE_URL: u.toString() },
    stdio: "ignore",
  });
  if (migrated.status !== 0) throw new Error(`migrate of ${name} failed`);
  return u.toString();
}
const url = await freshDatabase("eventline_bench");
const env = { DATABASE_URL: url, AMQP_URL, NOTIFY_CHANNEL: "bench_api", EVENTS_EXCHANGE: "bench.api" };

const log = (s: string) => console.error(`bench: ${s}`);
const started = Date.now();
const machineLoad: Record<string, MachineLoad | null> = {};
async function section<T>(name: string, run: () => Promise<T>): Promise<T> {
  log(name);
  const [result, load] = await withMachineLoad(run);
  machineLoad[name] = load;
  return result;
}
const appends = await section("appends", () => benchAppends(url, smoke ? 0.2 : 2));
const http = await section("http", () => benchHttp(env, smoke ? 2 : 15, [64, 128], freePort));
const tokens = await measureTokenVerification(smoke ? 200 : 20_000);
const tracingOff = await measureNoopTracing(smoke ? 2_000 : 200_000);
const runtimes = await section("runtimes", () => benchRuntimes(env, smoke ? 2 : 10, 64, freePort));
// Five rounds of 12k: with three of ~6.7k a round lasted a third of a second, and one slow spell of the
// disk (which the relay's deletes wait on and plain publishing does not) decided the ratio.
const relay = await section("relay", () => benchRelay(url, AMQP_URL, smoke ? 300 : 60_000, smoke ? 20 : 200, smoke ? 3 : 5));
const readModel = await section("read model", async () => [
  await benchReadModel(
    url,
    AMQP_URL,
    1_000,
    smoke ? 1 : 15,
    smoke ? null : { rates: [1_000, 2_000, 4_000], seconds: 60 },
    "set-based (handleBatch)",
  ),
  await benchReadModel(
    url,
    AMQP_URL,
    1_000,
    smoke ? 1 : 15,
    smoke ? null : { rates: [500, 1_000, 2_000, 4_000], seconds: 60 },
    "one upsert per event",
  ),
]);
const competing = await section("competing consumers", () =>
  benchCompetingConsumers(url, AMQP_URL, [1, 2, 4], smoke ? 600 : 20_000),
);
const rebuild = await section("rebuild", () => benchRebuild(url, smoke ? 5_000 : 1_000_000, smoke ? 2_000 : 100_000));
const snapshots = await section("snapshots", () => benchSnapshots(url, [10, 1_000, 10_000], smoke ? 3 : 20));
// The shop's own processes, as production runs them: first its queries under wrk, then whole checkouts.
// In a database of its own: the other sections' hundred thousand products would be a catch-up first.
const shopUrl = await freshDatabase("eventline_bench_shop");
const { queries, checkouts } = await section("shop", async () => {
  const shop = await startBenchShop(shopUrl, AMQP_URL);
  try {
    const queries = await benchQueries(shop, smoke ? 2 : 15, 64);
    const checkouts = await benchCheckouts(shop, {
      rates: smoke ? [5] : [25, 50, 100, 150, 200, 300],
      seconds: smoke ? 3 : 60,
      boundMs: 250,
    });
    return { queries, checkouts };
  } catch (error) {
    console.error(shop.lastLines());
    throw error;
  } finally {
    await shop.stop("shop");
  }
});
for (const db of ["eventline_bench", "eventline_bench_shop"]) await admin.unsafe(`drop database if exists ${db} with (force)`);
await admin.end();

const machine = { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30, 0), bun: Bun.version };
const result = {
  smoke,
  at: new Date().toISOString(),
  seconds: round((Date.now() - started) / 1000),
  machine,
  appends,
  http,
  tokens,
  tracingOff,
  runtimes,
  relay,
  readModel,
  competing,
  rebuild,
  snapshots,
  queries,
  checkouts,
  peakMemory,
  machineLoad,
};
const targets = checkTargets(result);
mkdirSync(join(root, "bench-results"), { recursive: true });
writeFileSync(
  join(root, "bench-results", smoke ? "smoke.json" : "latest.json"),
  `${JSON.stringify({ ...result, targets }, null, 2)}\n`,
);

const lines: string[] = [];
lines.push(
  `eventline benchmark${smoke ? " (SMOKE: numbers are not meaningful)" : ""} — ${machine.cores} cores, ${machine.cpu}, Bun ${machine.bun}`,
);
lines.push("", "| appends | concurrency | appends/s | p50 ms | p99 ms |", "|---|---|---|---|---|");
for (const a of appends)
  lines.push(`| ${a.path} | ${a.concurrency} | ${round(a.perSecond, 0)} | ${round(a.p50Ms)} | ${round(a.p99Ms)} |`);
lines.push("", "| HTTP (wrk) | connections | req/s | p50 ms | p99 ms | non-2xx |", "|---|---|---|---|---|---|");
for (const h of http)
  lines.push(
    `| ${h.target} | ${h.connections} | ${round(h.perSecond, 0)} | ${round(h.p50Ms)} | ${round(h.p99Ms)} | ${h.non2xx} |`,
  );
lines.push(
  "",
  "| API runtime (wrk, POST /products) | connections | commands/s | p50 ms | p99 ms | non-2xx | start → first command ms |",
  "|---|---|---|---|---|---|---|",
  ...runtimes.map(
    (r) =>
      `| ${r.runtime} | ${r.connections} | ${round(r.perSecond, 0)} | ${round(r.p50Ms)} | ${round(r.p99Ms)} | ${r.non2xx} | ${round(r.firstCommandMs, 0)} |`,
  ),
);
lines.push(
  "",
  "| token verification, in one process | µs per token |",
  "|---|---|",
  `| first sight (signature and claims) | ${round(tokens.firstSightUs)} |`,
  `| remembered (its time window only) | ${round(tokens.rememberedUs, 2)} |`,
  "",
  "| OpenTelemetry off (no SDK), in one process | µs per command |",
  "|---|---|",
  `| the spans and context one command makes | ${round(tracingOff.perCommandUs, 2)} |`,
  `| the same, the request carrying a caller's traceparent | ${round(tracingOff.withTraceparentUs, 2)} |`,
);
lines.push(
  "",
  "| relay | value |",
  "|---|---|",
  `| relay msgs/s (${relay.events} events) | ${round(relay.relayPerSecond, 0)} |`,
  `| plain amqplib confirm channel msgs/s | ${round(relay.amqplibPerSecond, 0)} |`,
  `| relay / amqplib | ${round(relay.ratio * 100, 0)}% |`,
  `| relay / amqplib, round by round | ${relay.roundRatios.map((r) => `${round(r * 100, 0)}%`).join(", ")} |`,
  `| idle commit→delivered p50 / p99 ms | ${round(relay.idleP50Ms)} / ${round(relay.idleP99Ms)} |`,
);
lines.push(
  "",
  "| read models | value |",
  "|---|---|",
  ...readModel.map(
    (r) => `| commit→read model at ${r.rate}/s, ${r.handler}, p50 / p99 ms | ${round(r.p50Ms)} / ${round(r.p99Ms)} |`,
  ),
  ...readModel.map(
    (r) => `| highest rate held 60 s without growing lag, ${r.handler} | ${r.highestSustainedRate ?? "not measured"} |`,
  ),
  ...rebuild.map((r) => `| rebuild, ${r.handler} (${r.events} events) events/s | ${round(r.perSecond, 0)} |`),
);
const alone = competing[0]?.perSecond ?? 0;
lines.push(
  "",
  "| competing consumers (one upsert per event, one queue) | events | events/s | against one instance |",
  "|---|---|---|---|",
  ...competing.map(
    (c) =>
      `| ${c.instances} instance${c.instances > 1 ? "s" : ""} | ${c.events} | ${round(c.perSecond, 0)} | ${alone ? `${round(c.perSecond / alone, 2)}×` : "n/a"} |`,
  ),
);
lines.push(
  "",
  "| queries (wrk, the shop's read models) | connections | req/s | p50 ms | p99 ms | non-2xx |",
  "|---|---|---|---|---|---|",
  ...queries.map(
    (q) => `| ${q.target} | ${q.connections} | ${round(q.perSecond, 0)} | ${round(q.p50Ms)} | ${round(q.p99Ms)} | ${q.non2xx} |`,
  ),
);
lines.push(
  "",
  `| whole checkouts (${checkouts.phases[0]?.seconds ?? 0} s a rate) | checkouts | failed | checkout p50 / p99 ms | worst read model p99 ms | backlog grew | drained after s | held | CPU % of a core |`,
  "|---|---|---|---|---|---|---|---|---|",
  ...checkouts.phases.map((p) => {
    const worst = Object.entries(p.applyLatency).sort((a, b) => b[1].p99Ms - a[1].p99Ms)[0];
    const cpu = Object.entries(p.cpu)
      .map(([name, pct]) => `${name} ${pct}`)
      .join(", ");
    return `| ${p.rate}/s | ${p.checkouts} | ${p.failed} | ${round(p.p50Ms)} / ${round(p.p99Ms)} | ${worst ? `${worst[0]} ${round(worst[1].p99Ms)}` : "none"} | ${p.backlogGrew.join(", ") || "no"} | ${p.drainedAfterS === null ? "not drained" : round(p.drainedAfterS)} | ${p.held ? "yes" : "**no**"} | ${cpu} |`;
  }),
);
lines.push(
  "",
  "| peak memory (resident, VmHWM) | section | MB |",
  "|---|---|---|",
  ...peakMemory.map((m) => `| ${m.process} | ${m.section} | ${round(m.peakRssMb, 0)} |`),
);
lines.push("", "| stream load | without snapshots ms | with snapshots ms | events read with |", "|---|---|---|---|");
for (const s of snapshots)
  lines.push(`| ${s.events} events | ${round(s.withoutMs, 2)} | ${round(s.withMs, 2)} | ${s.eventsReadWith} |`);
lines.push("", "| machine during the section | busy % | iowait % | peak iowait % (0.5 s) | steal % |", "|---|---|---|---|---|");
for (const [name, load] of Object.entries(machineLoad))
  lines.push(
    load
      ? `| ${name} | ${load.busyPct} | ${load.iowaitPct} | ${load.peakIowaitPct} | ${load.stealPct} |`
      : `| ${name} | not measured (no /proc/stat) | | | |`,
  );
lines.push("", `| target${smoke ? " (smoke run: no verdict)" : ""} | measured | met |`, "|---|---|---|");
for (const t of targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met ? "yes" : "**no**"} |`);
console.log(lines.join("\n"));
process.exit(0);
