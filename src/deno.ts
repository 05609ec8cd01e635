/**
 * The API on Deno: the same app and the same process runner as on Bun, served by Deno.serve.
 * Run: deno run --allow-net --allow-env --allow-read --allow-sys src/deno.ts
 */
import { type Config, loadConfig } from "./config.ts";
import { ConfigError } from "./core/errors.ts";
import { createLogger } from "./log.ts";
import { installCrashGuard } from "./processes/crash-guard.ts";
import type { Serve } from "./processes/process-kit.ts";
import { runApi } from "./processes/run-api.ts";

declare const Deno: {
  serve(
    options: { hostname: string; port: number; onListen?: (addr: { hostname: string; port: number }) => void },
    handler: (req: Request) => Response | Promise<Response>,
  ): { addr: { hostname: string; port: number }; shutdown(): Promise<void> };
};

const serve: Serve = (fetch, host, port) => {
  const server = Deno.serve({ hostname: host, port, onListen: () => {} }, fetch);
  return { url: `http://${server.addr.hostname}:${server.addr.port}/`, stop: () => server.shutdown() };
};

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  for (const p of error.problems) console.error(`config: ${p}`);
  process.exit(1);
}
const log = createLogger({ role: "api", runtime: "deno", pid: process.pid }, config.logLevel);
installCrashGuard(log);
await runApi({ config, log, serve });
