/**
 * The local run: starts Postgres and RabbitMQ when needed, applies migrations, then runs each process
 * role as its own child process with prefixed output. Ctrl-C (or SIGTERM) stops the children, waits for
 * them, and stops the servers too when this run was the one that started them.
 */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { readEnvFile, root } from "./infra-env.ts";

const infra = join(root, "scripts", "infra");
/** The long-running processes of a local run; each is deployed separately in production. */
const roles = (process.env.EVENTLINE_DEV_ROLES ?? "payment-provider,api,relay,consumer all,saga").split(",").filter(Boolean);

function run(args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync("bash", [infra, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return { status: r.status, stdout: r.stdout };
}

const before = run(["status"]).stdout;
const externallyGiven = Boolean(process.env.DATABASE_URL && process.env.AMQP_URL);
if (run(["up"]).status !== 0) process.exit(1);
const weStartedServers = !externallyGiven && !/postgres: running[\s\S]*rabbitmq: running/.test(before);

// The servers' URLs from scripts/infra, unless the environment already names them.
const env: Record<string, string | undefined> = { ...process.env };
for (const [key, value] of Object.entries(readEnvFile())) if (!process.env[key]) env[key] = value;
// The saga pays through the stand-in provider this run starts, over HTTP, as it would through a real one.
env.PAYMENT_PROVIDER_URL ??= `http://127.0.0.1:${env.PAYMENT_PROVIDER_PORT ?? "9467"}`;
// A person reads a local run: compact lines, unless LOG_FORMAT says otherwise.
env.LOG_FORMAT ??= "pretty";

const migrate = spawnSync(process.execPath, [join(root, "examples", "shop", "main.ts"), "migrate"], { env, stdio: "inherit" });
if (migrate.status !== 0) {
  if (weStartedServers) run(["down"]);
  process.exit(migrate.status ?? 1);
}

const children = roles.map((role) => {
  // detached: a child gets its own process group, so one Ctrl-C reaches it once, through us.
  const child = spawn(process.execPath, [join(root, "examples", "shop", "main.ts"), ...role.split(" ")], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const prefix = `[${role}] `;
  for (const stream of [child.stdout, child.stderr]) {
    let rest = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) process.stdout.write(`${prefix + line}\n`);
    });
  }
  child.on("exit", (code, signal) => {
    process.stdout.write(`${prefix}exited (${signal ?? code})\n`);
    if (!stopping) void stop(1);
  });
  return child;
});

// Every route but the catalog's reads needs a bearer token; the API checks them against the development secret.
process.stdout.write(
  [
    "",
    "Get a token for the API (Authorization: Bearer <token>):",
    "  bun run eventline token --customer <uuid>      a customer (sign up with POST /customers)",
    "  bun run eventline token --role catalog         staff: catalog, inventory, support, shipping or admin",
    `  try it at http://127.0.0.1:${env.PORT ?? "3000"}/docs`,
    "",
  ].join("\n"),
);

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const exited = children.map((c) =>
    c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once("exit", r)),
  );
  for (const c of children) if (c.pid && c.exitCode === null) c.kill("SIGTERM");
  const timer = setTimeout(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }, 20_000);
  await Promise.all(exited);
  clearTimeout(timer);
  if (weStartedServers) run(["down"]);
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
