/**
 * Process entry points: `bun src/main.ts <command>`. The only file that knows Bun.serve; every process is
 * built from factories that take their dependencies.
 */
import { type Config, loadConfig } from "./config.ts";
import { ConfigError } from "./core/errors.ts";
import { createLogger } from "./log.ts";
import { commands, usageText } from "./processes/commands.ts";
import { installCrashGuard } from "./processes/crash-guard.ts";
import { isShuttingDown, type ProcessContext, type Serve } from "./processes/process-kit.ts";
import { runApi } from "./processes/run-api.ts";
import { runDeadLetters, runForgetSubject, runMigrate, runOutbox, runReadModels, runStreams } from "./processes/run-cli.ts";
import { runConsumers } from "./processes/run-consumers.ts";
import { runRelay } from "./processes/run-relay.ts";
import { runPaymentProvider } from "./processes/run-payment-provider.ts";
import { runSaga } from "./processes/run-saga.ts";
import { runSagas } from "./processes/run-cli.ts";

const serve: Serve = (fetch, host, port) => {
  const server = Bun.serve({ hostname: host, port, fetch });
  return { url: server.url.href, stop: () => server.stop() };
};

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (!command || command === "--help" || command === "-h") {
    process.stdout.write(usageText());
    return;
  }
  const known = commands[command];
  if (!known) {
    process.stderr.write(`unknown command ${command}\n${usageText()}`);
    process.exit(2);
  }
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(`usage: bun run eventline ${known.usage}\n\n${known.summary}\n`);
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
  installCrashGuard(log);
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
    case "payment-provider":
      return runPaymentProvider(ctx);
    case "sagas":
      return runSagas(config, args);
    case "outbox":
      return runOutbox(config, args);
    case "read-models":
      return runReadModels(config, args);
    case "dead-letters":
      return runDeadLetters(config, args);
    case "streams":
      return runStreams(config, args);
    case "forget-subject":
      return runForgetSubject(config, args);
  }
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  // A start-up cut short by a requested stop may fail on the closed connections; the stop exits 0 itself.
  if (!isShuttingDown()) throw error;
}
