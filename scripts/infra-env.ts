/**
 * Makes sure Postgres and RabbitMQ answer and returns their URLs: as given in the environment, from
 * .eventline/infra.env, or by running scripts/infra up. Shared by the test preload, chaos and bench.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";

export const root = join(import.meta.dirname, "..");
const envFile = () => join(process.env.EVENTLINE_HOME ?? join(root, ".eventline"), "infra.env");

/** The URLs scripts/infra up wrote, if it has run. */
export function readEnvFile(): Record<string, string> {
  if (!existsSync(envFile())) return {};
  return Object.fromEntries(
    readFileSync(envFile(), "utf8")
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

export function reachable(url: string | undefined): Promise<boolean> {
  if (!url) return Promise.resolve(false);
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = tcpConnect({ host: u.hostname, port: Number(u.port) }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

export async function ensureInfraEnv(): Promise<{ DATABASE_URL: string; AMQP_URL: string }> {
  const given = Object.fromEntries(
    Object.entries({ DATABASE_URL: process.env.DATABASE_URL, AMQP_URL: process.env.AMQP_URL }).filter(([, v]) => v),
  );
  let env: Record<string, string | undefined> = { ...readEnvFile(), ...given };
  if (!(await reachable(env.DATABASE_URL)) || !(await reachable(env.AMQP_URL))) {
    const up = spawnSync("bash", [join(root, "scripts", "infra"), "up"], { stdio: ["ignore", "inherit", "inherit"] });
    if (up.status !== 0) throw new Error("scripts/infra up failed: Postgres and RabbitMQ are needed");
    env = { ...env, ...readEnvFile() };
  }
  if (!env.DATABASE_URL || !env.AMQP_URL) throw new Error("no DATABASE_URL / AMQP_URL after scripts/infra up");
  process.env.DATABASE_URL = env.DATABASE_URL;
  process.env.AMQP_URL = env.AMQP_URL;
  return { DATABASE_URL: env.DATABASE_URL, AMQP_URL: env.AMQP_URL };
}

/**
 * The URLs of the local RabbitMQ cluster's nodes (scripts/infra up --cluster 3), starting it when it is
 * not running. Exported as AMQP_CLUSTER_URLS.
 */
export async function ensureCluster(nodes = 3): Promise<string[]> {
  let urls = (process.env.AMQP_CLUSTER_URLS ?? readEnvFile().AMQP_CLUSTER_URLS ?? "").split(",").filter(Boolean);
  const up = await Promise.all(urls.map((u) => reachable(u)));
  if (urls.length !== nodes || !up.every(Boolean)) {
    const r = spawnSync("bash", [join(root, "scripts", "infra"), "up", "--cluster", String(nodes)], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (r.status !== 0) throw new Error(`scripts/infra up --cluster ${nodes} failed: the cluster tests need it`);
    urls = (readEnvFile().AMQP_CLUSTER_URLS ?? "").split(",").filter(Boolean);
  }
  if (urls.length !== nodes) throw new Error(`no cluster of ${nodes} after scripts/infra up --cluster ${nodes}`);
  process.env.AMQP_CLUSTER_URLS = urls.join(",");
  return urls;
}
