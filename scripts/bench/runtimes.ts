/**
 * The API on Bun (direct), on Deno and in workerd (both through the PgBouncer in transaction mode) under
 * the same wrk load, and how long each takes from its start to its first answered command.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { bearer } from "../bearer.ts";
import { readEnvFile, root } from "../infra-env.ts";
import { startProcess } from "../process-runner.ts";
import { startDeno, startWorker } from "../runtimes.ts";
import { runWrk } from "./http.ts";

export type RuntimeRow = {
  runtime: string;
  connections: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  /** From starting the process to the first 201 of POST /products. */
  firstCommandMs: number;
};

async function firstCommand(base: string, authorization: string, started: number): Promise<number> {
  const deadline = started + 120_000;
  for (;;) {
    const status = await fetch(`${base}/products`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization },
      body: JSON.stringify({ sku: `COLD-${crypto.randomUUID().slice(0, 8)}`, name: "Cold", price: 1 }),
      signal: AbortSignal.timeout(5_000),
    }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 201) return performance.now() - started;
    if (status !== 0 && status !== 503 && status !== 500) throw new Error(`${base} answered ${status} to the first command`);
    if (performance.now() > deadline) throw new Error(`${base} answered no command in 120 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function benchRuntimes(
  env: Record<string, string>,
  seconds: number,
  connections: number,
  freePort: () => number,
): Promise<RuntimeRow[]> {
  const up = spawnSync("bash", [join(root, "scripts", "infra"), "up", "--pooler"], { stdio: ["ignore", "ignore", "inherit"] });
  if (up.status !== 0) throw new Error("scripts/infra up --pooler failed");
  const pooler = new URL(readEnvFile().POOLED_DATABASE_URL as string);
  const pooledUrl = new URL(env.DATABASE_URL as string);
  pooledUrl.host = pooler.host;
  const pooled = { DATABASE_URL: pooledUrl.toString(), DATABASE_POOLER: "transaction" };
  const { authorization } = await bearer("bench-catalog", ["catalog"], env);
  const rows: RuntimeRow[] = [];
  const runtimes: [string, (port: number) => { stop(): Promise<unknown>; output?: () => Promise<string> }][] = [
    [
      "Bun (direct connection)",
      (port) => {
        const p = startProcess("api", ["api"], { ...env, PORT: String(port), LOG_LEVEL: "warn", DB_POOL_MAX: "20" });
        return { stop: () => p.stop(), output: async () => p.lines.join("\n") };
      },
    ],
    [
      "Deno (PgBouncer, transaction mode)",
      (port) => startDeno({ ...env, ...pooled, PORT: String(port), LOG_LEVEL: "warn", DB_POOL_MAX: "20" }),
    ],
    [
      "workerd via wrangler dev (PgBouncer, a connection per request)",
      (port) => startWorker({ ...env, ...pooled, LOG_LEVEL: "warn" }, port),
    ],
  ];
  for (const [runtime, start] of runtimes) {
    const port = freePort();
    const started = performance.now();
    const running = start(port);
    try {
      const base = `http://127.0.0.1:${port}`;
      const firstCommandMs = await firstCommand(base, authorization, started).catch(async (error) => {
        await running.stop();
        throw new Error(`${runtime}: ${(error as Error).message}\n${(await running.output?.())?.slice(-3000) ?? ""}`);
      });
      rows.push({ runtime, connections, firstCommandMs, ...(await runWrk(base, seconds, connections, authorization)) });
    } finally {
      await running.stop();
    }
  }
  return rows;
}
