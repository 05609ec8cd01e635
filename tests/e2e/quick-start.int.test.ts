import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl } from "../support/amqp.ts";
import { denoBinary } from "../support/deno.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { freePort, type RunningProcess, startProcess } from "../support/processes.ts";

const root = join(import.meta.dirname, "..", "..");
const readme = readFileSync(join(root, "README.md"), "utf8");

/** The fenced blocks of one README section, by language. */
function blocksOf(section: string, lang: string): string[] {
  const start = readme.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`the README has no section ${section}`);
  const end = readme.indexOf("\n## ", start + 1);
  const text = readme.slice(start, end < 0 ? undefined : end);
  return [...text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1] as string);
}

function run(command: string, args: string[], cwd: string, timeoutMs = 120_000) {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout: timeoutMs, env: process.env });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

let project: string;
let db: TestDatabase;
const tag = crypto.randomUUID().slice(0, 8);
const processes: RunningProcess[] = [];

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), "eventline-quick-start-"));
  db = await createTestDatabase({ max: 2 });
  // What a user gets: the packed tarball (npm pack builds dist/ first), installed as the README says.
  const tarball = run("npm", ["pack", "--silent", "--pack-destination", project], root).trim().split("\n").pop() as string;
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "todo", private: true, type: "module" }));
  const install = blocksOf("Install", "sh")
    .join("\n")
    .split("\n")
    .find((l) => l.startsWith("bun add "));
  if (!install) throw new Error("the README's Install section has no `bun add` line");
  const packages = install
    .split(/\s+/)
    .slice(2)
    .map((p) => (p.endsWith(".tgz") ? join(project, tarball) : p));
  run(process.execPath, ["add", ...packages], project, 180_000);
}, 300_000);

afterAll(async () => {
  for (const p of processes) await p.stop();
  await deleteBrokerObjects(amqpUrl(), { consumers: ["task_list"], prefix: `qs.${tag}`, exchanges: [`qs.${tag}`] });
  await db.drop();
  rmSync(project, { recursive: true, force: true });
});

describe("the README's quick start, on the packed package", () => {
  it("takes a command over HTTP through the store, the relay and a consumer into its read model", async () => {
    const [code] = blocksOf("Quick start", "ts");
    expect(code).toContain("defineApp(");
    writeFileSync(join(project, "app.ts"), code as string);
    const port = freePort();
    const env = {
      DATABASE_SCHEMA: db.schema,
      PORT: String(port),
      EVENTS_EXCHANGE: `qs.${tag}`,
      QUEUE_PREFIX: `qs.${tag}`,
      NOTIFY_CHANNEL: `qs_${tag}`,
      RELAY_METRICS_PORT: String(freePort()),
      CONSUMER_METRICS_PORT: String(freePort()),
      LOG_LEVEL: "warn",
    };
    const entry = join(project, "app.ts");
    const migrate = startProcess("migrate", ["migrate"], env, entry);
    expect(await migrate.exited).toBe(0);
    processes.push(startProcess("api", ["api"], env, entry));
    processes.push(startProcess("relay", ["relay"], env, entry));
    processes.push(startProcess("consumer", ["consumer", "task_list"], env, entry));
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    while (
      (await fetch(`${base}/health`).then(
        (r) => r.status,
        () => 0,
      )) !== 200
    ) {
      if (Date.now() > deadline) throw new Error(`the api did not start: ${processes[0]?.lines.join("\n")}`);
      await Bun.sleep(100);
    }

    const anonymous = await fetch(`${base}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "write the docs" }),
    });
    expect(anonymous.status).toBe(401);
    // The token as the README gets it: from the app's own CLI, with nothing but the environment.
    const signed = Bun.spawnSync([process.execPath, entry, "token", "--subject", "me"], { env: { ...process.env, ...env } });
    expect(signed.exitCode).toBe(0);
    const created = await fetch(`${base}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${signed.stdout.toString().trim()}` },
      body: JSON.stringify({ title: "write the docs" }),
    });
    expect(created.status).toBe(201);
    const { taskId, version } = (await created.json()) as { taskId: string; version: number };
    expect(version).toBe(1);
    const stored = await db.sql<{ type: string; actor: string }[]>`
      select type, metadata->>'actor' as actor from eventline_events where stream_id = ${`task-${taskId}`}`;
    expect([...stored]).toEqual([{ type: "TaskAdded", actor: "me" }]);

    let row: unknown;
    while (Date.now() < deadline + 30_000) {
      const res = await fetch(`${base}/tasks/${taskId}`);
      if (res.status === 200) {
        row = await res.json();
        break;
      }
      expect(res.status).toBe(404);
      await Bun.sleep(100);
    }
    expect(row).toEqual({ task_id: taskId, title: "write the docs", done: false });
    // The relay published it: only a confirmed publish deletes the outbox row (the consumer's sweep alone
    // would fill the read model with the relay down). The delete may come just after the delivery.
    const outboxRows = async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from eventline_outbox`)[0]?.n;
    const relayDeadline = Date.now() + 10_000;
    while ((await outboxRows()) !== 0 && Date.now() < relayDeadline) await Bun.sleep(50);
    expect(await outboxRows()).toBe(0);
    const bad = await fetch(`${base}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${signed.stdout.toString().trim()}` },
      body: "{}",
    });
    expect(bad.status).toBe(400);
  }, 90_000);

  it("imports the core, HTTP, runtime and Postgres entry points under Deno", () => {
    writeFileSync(
      join(project, "deno-check.ts"),
      `import { defineApp, handleCommand } from "eventline";\nimport { createApp, runCommand } from "eventline/hono";\n` +
        `import { runApp } from "eventline/runtime";\nimport { createPostgresEventStore } from "eventline/postgres";\n` +
        `const app = createApp({ ready: async () => {} });\n` +
        `const res = await app.request("/health");\n` +
        `console.log(typeof defineApp, typeof handleCommand, typeof runCommand, typeof runApp, typeof createPostgresEventStore, res.status);\n`,
    );
    const out = run(denoBinary(), ["run", "--allow-read", "--allow-env", "deno-check.ts"], project, 60_000);
    expect(out.trim()).toBe("function function function function function 200");
  }, 90_000);
});
