// Loaded before every test file (bunfig.toml). Integration tests never skip: when the servers are not
// reachable this starts them through scripts/infra, and if that fails the tests fail loudly.
import { setDefaultTimeout } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";

// Integration tests wait on real servers and processes; 5 s (Bun's default) is too tight for them.
setDefaultTimeout(30_000);

const root = join(import.meta.dirname, "..", "..");
const envFile = join(process.env.EVENTLINE_HOME ?? join(root, ".eventline"), "infra.env");

function readEnvFile(): Record<string, string> {
  if (!existsSync(envFile)) return {};
  return Object.fromEntries(
    readFileSync(envFile, "utf8")
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

function reachable(url: string | undefined): Promise<boolean> {
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

const given = Object.fromEntries(
  Object.entries({ DATABASE_URL: process.env.DATABASE_URL, AMQP_URL: process.env.AMQP_URL }).filter(([, v]) => v),
);
let env: Record<string, string | undefined> = { ...readEnvFile(), ...given };
if (!(await reachable(env.DATABASE_URL)) || !(await reachable(env.AMQP_URL))) {
  const up = spawnSync("bash", [join(root, "scripts", "infra"), "up"], { stdio: ["ignore", "inherit", "inherit"] });
  if (up.status !== 0) throw new Error("scripts/infra up failed: integration tests need Postgres and RabbitMQ");
  env = { ...env, ...readEnvFile() };
}
process.env.DATABASE_URL = env.DATABASE_URL;
process.env.AMQP_URL = env.AMQP_URL;
