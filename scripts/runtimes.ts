import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");

/**
 * The Deno binary itself. node_modules/.bin/deno is a Node wrapper that spawns it, and a signal sent to the
 * wrapper would leave Deno running; so tests and the benchmark start the binary: the platform package's,
 * or the copy the wrapper puts beside itself.
 */
export function denoBinary(): string {
  const scoped = join(root, "node_modules", "@deno");
  const candidates = [
    ...(existsSync(scoped) ? readdirSync(scoped).map((d) => join(scoped, d, "deno")) : []),
    join(root, "node_modules", "deno", "deno"),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`no Deno binary among ${candidates.join(", ")}`);
  return found;
}

/** The shop's API on Deno (examples/shop/deno.ts) with the given environment. */
export function startDeno(env: Record<string, string>) {
  const proc = Bun.spawn(
    [denoBinary(), "run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", join(root, "examples", "shop", "deno.ts")],
    { cwd: root, env: { ...process.env, ...env, DENO_NO_UPDATE_CHECK: "1" }, stdout: "pipe", stderr: "pipe" },
  );
  return stopper(proc);
}

/**
 * The shop's worker in workerd through `wrangler dev` on loopback, each entry of `vars` a binding.
 * Wrangler runs on Node: under Bun it cannot forward requests to the worker.
 */
export function startWorker(vars: Record<string, string>, port: number) {
  const args = [join(root, "node_modules", "wrangler", "bin", "wrangler.js"), "dev", "-c", "examples/shop/wrangler.toml"];
  args.push("--ip", "127.0.0.1", "--port", String(port), "--inspector-port", "0", "--show-interactive-dev-session=false");
  // A local run on loopback: the worker may take the development secret unless told otherwise.
  for (const [key, value] of Object.entries({ EVENTLINE_ENV: "development", ...vars })) args.push("--var", `${key}:${value}`);
  const proc = Bun.spawn(["node", ...args], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  return stopper(proc);
}

function stopper(proc: ReturnType<typeof Bun.spawn>) {
  const output = Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
  ]);
  return {
    output: async () => (await output).join("\n"),
    /** SIGTERM, then SIGKILL after 10 s: a test or the bench never waits on a stuck runtime for ever. */
    async stop() {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}
