import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

/**
 * The shop's worker in workerd through `wrangler dev` on loopback, each entry of `vars` a binding.
 * Wrangler runs on Node: under Bun it cannot forward requests to the worker.
 */
export function startWorker(vars: Record<string, string>, port: number) {
  const args = [join(root, "node_modules", "wrangler", "bin", "wrangler.js"), "dev", "-c", "examples/shop/wrangler.toml"];
  args.push("--ip", "127.0.0.1", "--port", String(port), "--inspector-port", "0", "--show-interactive-dev-session=false");
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);
  const proc = Bun.spawn(["node", ...args], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return {
    output: async () => (await output).join("\n"),
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}
