import { type Config, loadConfig } from "../config.ts";
import { ConfigError } from "../core/errors.ts";
import { createLogger } from "../log.ts";
import { binOf, commandsOf, usageText } from "./commands.ts";
import { runAudit } from "./run-audit.ts";
import { runToken } from "./run-token.ts";
import { installCrashGuard } from "./crash-guard.ts";
import type { AppDefinition } from "./define-app.ts";
import { beforeExit, isShuttingDown, type ProcessContext, type Serve, wireProcess } from "./process-kit.ts";
import { startTelemetry } from "./start-telemetry.ts";
import { runApi } from "./run-api.ts";
import { runDeadLetters, runMigrate, runOutbox, runReadModels, runSagas, runStreams } from "./run-cli.ts";
import { runConsumers } from "./run-consumers.ts";
import { runRelay } from "./run-relay.ts";
import { runSaga } from "./run-saga.ts";

type Handler = (req: Request) => Response | Promise<Response>;
type Runtimes = {
  Bun?: { serve(o: { hostname: string; port: number; fetch: Handler }): { url: URL; stop(): Promise<void> } };
  Deno?: {
    serve(
      options: { hostname: string; port: number; onListen?: () => void },
      handler: Handler,
    ): { addr: { hostname: string; port: number }; shutdown(): Promise<void> };
  };
};

/** Bun's server under Bun, Deno's under Deno: the only place that knows either. */
export const serveHttp: Serve = (fetch, host, port) => {
  const { Bun: bun, Deno: deno } = globalThis as Runtimes;
  if (bun) {
    const server = bun.serve({ hostname: host, port, fetch });
    return { url: server.url.href, stop: () => server.stop() };
  }
  if (deno) {
    const server = deno.serve({ hostname: host, port, onListen: () => {} }, fetch);
    return { url: `http://${server.addr.hostname}:${server.addr.port}/`, stop: () => server.shutdown() };
  }
  throw new Error("eventline serves HTTP on Bun or Deno");
};

/** eventline's settings and the app's, every problem of both listed before the process exits 1. */
function loadConfigs<C>(app: AppDefinition<C, unknown>): { config: Config; appConfig: C } {
  const problems: string[] = [];
  const attempt = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const config = attempt(() => loadConfig(process.env, app.faults));
  const appConfig = attempt(() => (app.config ? app.config(process.env) : (undefined as C)));
  if (problems.length > 0 || !config) {
    for (const p of problems) process.stderr.write(`config: ${p}\n`);
    process.exit(1);
  }
  return { config, appConfig: appConfig as C };
}

async function dispatch<C, S>(app: AppDefinition<C, S>, argv: string[], serve: Serve): Promise<void> {
  const [command, ...args] = argv;
  if (!command || command === "--help" || command === "-h") {
    process.stdout.write(usageText(app));
    return;
  }
  const known = commandsOf(app)[command];
  if (!known) {
    process.stderr.write(`unknown command ${command}\n${usageText(app)}`);
    process.exit(2);
  }
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(`usage: ${binOf(app)} ${known.usage}\n\n${known.summary}\n`);
    return;
  }
  // Signing a token needs only the auth settings, so it works before any server is configured.
  if (command === "token" && !app.commands?.token) return runToken(app, process.env, args);
  const { config, appConfig } = loadConfigs(app as AppDefinition<C, unknown>);
  const role = command === "consumer" ? `consumer:${args[0]}` : command;
  const log = createLogger({ app: app.name, role, pid: process.pid }, config.logLevel, undefined, config.logFormat);
  installCrashGuard(log);
  const telemetry = await startTelemetry(process.env, `${app.name}-${role.replace(":", "-")}`);
  beforeExit(() => telemetry.shutdown());
  const ctx: ProcessContext = { config, appConfig, log, serve, app };
  const own = app.commands?.[command];
  if (own) {
    return own.run({ config, appConfig, log, serve, wire: (r = "cli", poolMax = 2) => wireProcess(ctx, r, poolMax) }, args);
  }
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
      return runReadModels(ctx, args);
    case "dead-letters":
      return runDeadLetters(config, args);
    case "streams":
      return runStreams(ctx, args);
    case "audit":
      return runAudit(ctx, args);
  }
}

/**
 * Runs one command of an app: `api`, `relay`, `consumer <name>`, `saga`, `migrate`, the operations
 * commands, or one of the app's own. An app's entry file is `runApp(app)`; the command comes from argv.
 */
export async function runApp<C, S>(app: AppDefinition<C, S>, options: { argv?: string[]; serve?: Serve } = {}): Promise<void> {
  try {
    await dispatch(app, options.argv ?? process.argv.slice(2), options.serve ?? serveHttp);
  } catch (error) {
    // A start-up cut short by a requested stop may fail on the closed connections; the stop exits 0 itself.
    if (!isShuttingDown()) throw error;
  }
}
