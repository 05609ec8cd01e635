/**
 * Process entry points: `bun src/main.ts <role>`. The only file that knows about Bun.serve and process
 * signals; everything it starts is built from factories that take their dependencies.
 */
import amqp from "amqplib";
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
  relay       publish the outbox to RabbitMQ
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
  const sql = connect(config.databaseUrl, { max: 1, applicationName: "eventline-migrate" });
  try {
    const applied = await migrate(sql);
    log("info", applied.length ? "migrations applied" : "database up to date", { applied });
  } finally {
    await sql.end();
  }
}

async function runApi(config: Config, log: Logger): Promise<void> {
  const sql = connect(config.databaseUrl, { max: config.dbPoolMax, applicationName: "eventline-api" });
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

async function main(argv: string[]): Promise<void> {
  const [command] = argv;
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
    default:
      process.stderr.write(`unknown command ${command}\n${usage}`);
      process.exit(2);
  }
}

await main(process.argv.slice(2));
