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
import { benchHttp } from "./bench/http.ts";
import { round } from "./bench/measure.ts";
import { benchReadModel } from "./bench/read-model.ts";
import { benchRebuild } from "./bench/rebuild.ts";
import { benchRelay } from "./bench/relay.ts";
import { benchSnapshots } from "./bench/snapshots.ts";
import { ensureInfraEnv, root } from "./infra-env.ts";
import { freePort } from "./process-runner.ts";

const { values } = parseArgs({ options: { smoke: { type: "boolean", default: false } } });
const smoke = values.smoke ?? false;

const { DATABASE_URL, AMQP_URL } = await ensureInfraEnv();
const benchDb = "eventline_bench";
const admin = connect(DATABASE_URL, { max: 1 });
await admin.unsafe(`drop database if exists ${benchDb} with (force)`);
await admin.unsafe(`create database ${benchDb}`);
const u = new URL(DATABASE_URL);
u.pathname = `/${benchDb}`;
const url = u.toString();
const env = { DATABASE_URL: url, AMQP_URL, NOTIFY_CHANNEL: "bench_api", EVENTS_EXCHANGE: "bench.api" };
const migrated = spawnSync(process.execPath, [join(root, "src", "main.ts"), "migrate"], {
  env: { ...process.env, ...env },
  stdio: "ignore",
});
if (migrated.status !== 0) throw new Error("migrate failed");

const log = (s: string) => console.error(`bench: ${s}`);
const started = Date.now();
log("appends");
const appends = await benchAppends(url, smoke ? 0.2 : 2);
log("http");
const http = await benchHttp(env, smoke ? 2 : 15, [64, 128], freePort);
log("relay");
const relay = await benchRelay(url, AMQP_URL, smoke ? 300 : 20_000, smoke ? 20 : 200);
log("read model");
const readModel = [
  await benchReadModel(
    url,
    AMQP_URL,
    1_000,
    smoke ? 1 : 15,
    smoke ? null : { rates: [1_000, 2_000, 4_000], seconds: 60 },
    "set-based (handleBatch)",
  ),
  await benchReadModel(url, AMQP_URL, 1_000, smoke ? 1 : 15, null, "one upsert per event"),
];
log("rebuild");
const rebuild = await benchRebuild(url, smoke ? 5_000 : 1_000_000, smoke ? 2_000 : 100_000);
log("snapshots");
const snapshots = await benchSnapshots(url, [10, 1_000, 10_000], smoke ? 3 : 20);
await admin.unsafe(`drop database if exists ${benchDb} with (force)`);
await admin.end();

const machine = { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30, 0), bun: Bun.version };
const result = {
  smoke,
  at: new Date().toISOString(),
  seconds: round((Date.now() - started) / 1000),
  machine,
  appends,
  http,
  relay,
  readModel,
  rebuild,
  snapshots,
};
mkdirSync(join(root, "bench-results"), { recursive: true });
writeFileSync(join(root, "bench-results", smoke ? "smoke.json" : "latest.json"), `${JSON.stringify(result, null, 2)}\n`);

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
  "| relay | value |",
  "|---|---|",
  `| relay msgs/s (${relay.events} events) | ${round(relay.relayPerSecond, 0)} |`,
  `| plain amqplib confirm channel msgs/s | ${round(relay.amqplibPerSecond, 0)} |`,
  `| relay / amqplib | ${round(relay.ratio * 100, 0)}% |`,
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
lines.push("", "| stream load | without snapshots ms | with snapshots ms | events read with |", "|---|---|---|---|");
for (const s of snapshots)
  lines.push(`| ${s.events} events | ${round(s.withoutMs, 2)} | ${round(s.withMs, 2)} | ${s.eventsReadWith} |`);
console.log(lines.join("\n"));
process.exit(0);
