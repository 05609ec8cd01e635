import { describe, expect, it } from "bun:test";
import { freePort } from "../support/processes.ts";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

describe("the dev command", () => {
  it("serves GET /health with 200 and stops every process it started on Ctrl-C", async () => {
    const apiPort = freePort();
    const probePort = freePort();
    const consumerPort = freePort();
    const sagaPort = freePort();
    const providerPort = freePort();
    const dev = spawn("bash", [join(root, "scripts", "dev")], {
      env: {
        ...process.env,
        PORT: String(apiPort),
        RELAY_METRICS_PORT: String(probePort),
        CONSUMER_METRICS_PORT: String(consumerPort),
        SAGA_METRICS_PORT: String(sagaPort),
        PAYMENT_PROVIDER_PORT: String(providerPort),
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    dev.stdout.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => dev.on("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      let status = 0;
      while (Date.now() < deadline) {
        status = await fetch(`http://127.0.0.1:${apiPort}/health`).then(
          (r) => r.status,
          () => 0,
        );
        const all = await Promise.all([probePort, consumerPort, sagaPort, providerPort].map(listening));
        if (status === 200 && all.every(Boolean)) break;
        await Bun.sleep(200);
      }
      expect(status).toBe(200);
      expect(await fetch(`http://127.0.0.1:${probePort}/health`).then((r) => r.status)).toBe(200);
      const consumerMetrics = await fetch(`http://127.0.0.1:${consumerPort}/metrics`).then((r) => r.text());
      expect(consumerMetrics).toContain('eventline_consumer_lag_events{consumer="orders"}');
      // The way to a token it prints works against the API it started.
      expect(output).toContain("bun run eventline token --role catalog");
      const token = Bun.spawnSync([process.execPath, join(root, "examples", "shop", "main.ts"), "token", "--role", "catalog"])
        .stdout.toString()
        .trim();
      const added = await fetch(`http://127.0.0.1:${apiPort}/products`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ sku: `DEV-${crypto.randomUUID().slice(0, 6)}`, name: "Dev", price: 1 }),
      });
      expect(added.status).toBe(201);
      dev.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(await listening(apiPort)).toBe(false);
      expect(await listening(probePort)).toBe(false);
      expect(await listening(consumerPort)).toBe(false);
      expect(await listening(sagaPort)).toBe(false);
      expect(await listening(providerPort)).toBe(false);
      expect(output).toContain("[api] exited");
      expect(output).toContain("[relay] exited");
      expect(output).toContain("[consumer all] exited");
      expect(output).toContain("[saga] exited");
      expect(output).toContain("[payment-provider] exited");
    } finally {
      if (dev.exitCode === null) dev.kill("SIGKILL");
    }
  }, 90_000);
});
