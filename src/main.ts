/**
 * Process entry points: `bun src/main.ts <role>`. The only file that knows about Bun.serve and process
 * signals; everything it starts is built from factories that take their dependencies.
 */
import amqp from "amqplib";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { connectBroker } from "./broker/amqp-connection.ts";
import { outboxStatus, releaseStream } from "./outbox/outbox-queries.ts";
import { createRelay } from "./outbox/relay.ts";
import { createRelayMetrics } from "./outbox/relay-metrics.ts";
import { type Config, loadConfig } from "./config.ts";
import { ConfigError } from "./core/errors.ts";
import { createApp } from "./http/create-app.ts";
import { createLogger, type Logger } from "./log.ts";
import { connect } from "./store/connect.ts";
import { migrate } from "./store/migrate.ts";

const usage = `usage: bun src/main.ts <command>

commands:
  migrate     apply database migrations and exit
  api         serve the HTTP API on HOST:PORT
  relay       publish the outbox to RabbitMQ (health and metrics on RELAY_METRICS_PORT)
  outbox status             depth, oldest pending age, parked streams (JSON)
  outbox release <stream>   let a parked stream flow again
`;

function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log("info", "shutting down", { signal });
      const deadline = setTimeout(() => {
        log("error", "shutdown deadline passed, exiting");
        process.exit(1);
      }, 15_000);
      stop().then(
        () => {
          clearTimeout(deadline);
          process.exit(0);
        },
        (error) => {
          log("error", "shutdown failed", { error: String(error) });
          process.exit(1);
        },
      );
    });
  }
}

async function runMigrate(config: Config, log: Logger): Promise<void> {
  const sql = connect(config.databaseUrl, { max: 1, applicationName: "eventline-migrate", schema: config.databaseSchema });
  try {
    const applied = await migrate(sql);
    log("info", applied.length ? "migrations applied" : "database up to date", { applied });
  } finally {
    await sql.end();
  }
}

async function runApi(config: Config, log: Logger): Promise<void> {
  const sql = connect(config.databaseUrl, {
    max: config.dbPoolMax,
    applicationName: "eventline-api",
    schema: config.databaseSchema,
  });
  const app = createApp({
    ready: async () => {
      await sql`select 1`;
      const conn = await amqp.connect(config.amqpUrl);
      await conn.close();
    },
    log,
  });
  const server = Bun.serve({ hostname: config.host, port: config.port, fetch: app.fetch });
  log("info", "api listening", { url: server.url.href });
  onShutdown(log, async () => {
    await server.stop();
    await sql.end({ timeout: 5 });
  });
}

/** A long-running process's own small HTTP port: /health and /metrics, so it can be probed and scraped. */
function serveProbe(host: string, port: number, registry: Registry, log: Logger) {
  const probe = new Hono();
  probe.get("/health", (c) => c.json({ status: "ok" }));
  probe.get("/metrics", async (c) => c.text(await registry.metrics(), 200, { "content-type": registry.contentType }));
  const server = Bun.serve({ hostname: host, port, fetch: probe.fetch });
  log("info", "probe listening", { url: server.url.href });
  return server;
}

async function runRelay(config: Config, log: Logger): Promise<void> {
  const sql = connect(config.databaseUrl, { max: 3, applicationName: "eventline-relay", schema: config.databaseSchema });
  const broker = connectBroker(config.amqpUrl, log, "eventline-relay");
  const registry = new Registry();
  const metrics = createRelayMetrics(registry, () => outboxStatus(sql).then((s) => ({ ...s, parkedStreams: s.parked.length })));
  const relay = createRelay({
    sql,
    broker,
    log,
    metrics,
    exchange: config.eventsExchange,
    notifyChannel: config.notifyChannel,
    ...config.relay,
    afterConfirm:
      config.fault === "relay-crash-after-confirm"
        ? () => {
            log("warn", "fault injected: crashing after confirm, before marking rows");
            process.kill(process.pid, "SIGKILL");
          }
        : undefined,
  });
  const probe = serveProbe(config.host, config.relay.metricsPort, registry, log);
  await relay.start();
  onShutdown(log, async () => {
    await relay.stop();
    await broker.close();
    await probe.stop();
    await sql.end({ timeout: 5 });
  });
}

async function runOutbox(config: Config, args: string[]): Promise<void> {
  const sql = connect(config.databaseUrl, { max: 1, applicationName: "eventline-cli", schema: config.databaseSchema });
  try {
    const [sub, streamId] = args;
    if (sub === "status") {
      process.stdout.write(`${JSON.stringify(await outboxStatus(sql), null, 2)}\n`);
    } else if (sub === "release" && streamId) {
      const n = await releaseStream(sql, streamId, config.notifyChannel);
      process.stdout.write(n > 0 ? `released ${streamId}: ${n} rows due again\n` : `${streamId} has no parked or failing rows\n`);
    } else {
      process.stderr.write("usage: outbox status | outbox release <stream-id>\n");
      process.exitCode = 2;
    }
  } finally {
    await sql.end();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (!command || command === "--help" || command === "-h") {
    process.stdout.write(usage);
    return;
  }
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const p of error.problems) process.stderr.write(`config: ${p}\n`);
    process.exit(1);
  }
  const log = createLogger({ role: command, pid: process.pid }, config.logLevel);
  switch (command) {
    case "migrate":
      return runMigrate(config, log);
    case "api":
      return runApi(config, log);
    case "relay":
      return runRelay(config, log);
    case "outbox":
      return runOutbox(config, args);
    default:
      process.stderr.write(`unknown command ${command}\n${usage}`);
      process.exit(2);
  }
}

await main(process.argv.slice(2));
