/**
 * Process entry points: `bun src/main.ts <command>`. The only file that knows Bun.serve; every process is
 * built from factories that take their dependencies.
 */
import { type Config, loadConfig } from "./config.ts";
import { ConfigError } from "./core/errors.ts";
import { createLogger } from "./log.ts";
import type { ProcessContext, Serve } from "./processes/process-kit.ts";
import { runApi } from "./processes/run-api.ts";
import { runDeadLetters, runMigrate, runOutbox, runReadModels } from "./processes/run-cli.ts";
import { runConsumers } from "./processes/run-consumers.ts";
import { runRelay } from "./processes/run-relay.ts";
import { runSaga } from "./processes/run-saga.ts";
import { runSagas } from "./processes/run-cli.ts";

const usage = `usage: bun src/main.ts <command>

processes:
  api                          the HTTP API on HOST:PORT
  relay                        publish the outbox to RabbitMQ (probe on RELAY_METRICS_PORT)
  consumer <name>|all          keep read models (probe on CONSUMER_METRICS_PORT)
  saga                         start and drive checkout sagas (probe on SAGA_METRICS_PORT)
commands:
  migrate                      apply database migrations and exit
  outbox status|release <stream>
  read-models list|rebuild <name>
  dead-letters list|show|replay|purge <consumer> [message-id ...]
  sagas list [status] | sagas retry <saga-id>
`;

const serve: Serve = (fetch, host, port) => {
  const server = Bun.serve({ hostname: host, port, fetch });
  return { url: server.url.href, stop: () => server.stop() };
};

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (!command || command === "--help" || command === "-h" || args.includes("--help")) {
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
  const log = createLogger({ role: command === "consumer" ? `consumer:${args[0]}` : command, pid: process.pid }, config.logLevel);
  const ctx: ProcessContext = { config, log, serve };
  switch (command) {
    case "migrate":
      return runMigrate(config, log);
    case "api":
      return runApi(ctx);
    case "relay":
      return runRelay(ctx);
    case "consumer":
      return runConsumers(ctx, args[0]);
    case "saga":
      return runSaga(ctx);
    case "sagas":
      return runSagas(config, args);
    case "outbox":
      return runOutbox(config, args);
    case "read-models":
      return runReadModels(config, args);
    case "dead-letters":
      return runDeadLetters(config, args);
    default:
      process.stderr.write(`unknown command ${command}\n${usage}`);
      process.exit(2);
  }
}

await main(process.argv.slice(2));
