import { staffBearer } from "../../scripts/bearer.ts";
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { freePort } from "../support/processes.ts";
import { join } from "node:path";
import { denoBinary } from "../support/deno.ts";
import { createShopHarness } from "../support/shop-harness.ts";

const root = join(import.meta.dirname, "..", "..");
let h: Awaited<ReturnType<typeof createShopHarness>>;
beforeAll(async () => {
  h = await createShopHarness({ pipeline: true });
});
afterAll(async () => h.close());

describe("the API on Deno", () => {
  it("runs a command and a query against the same Postgres", async () => {
    const port = freePort();
    const deno = Bun.spawn(
      [
        denoBinary(),
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "--allow-sys",
        join(root, "examples", "shop", "deno.ts"),
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          DATABASE_SCHEMA: h.db.schema,
          NOTIFY_CHANNEL: h.notifyChannel,
          PORT: String(port),
          LOG_LEVEL: "warn",
          DENO_NO_UPDATE_CHECK: "1",
        },
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const base = `http://127.0.0.1:${port}`;
    try {
      const deadline = Date.now() + 60_000;
      while (
        (await fetch(`${base}/health`).then(
          (r) => r.status,
          () => 0,
        )) !== 200
      ) {
        if (Date.now() > deadline || deno.exitCode !== null)
          throw new Error(`deno did not start: ${await new Response(deno.stderr).text()}`);
        await Bun.sleep(200);
      }
      const created = await fetch(`${base}/products`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(await staffBearer()) },
        body: JSON.stringify({ sku: `DENO-${crypto.randomUUID().slice(0, 6)}`, name: "Dinosaur", price: 999 }),
      });
      expect(created.status).toBe(201);
      const { productId, position } = (await created.json()) as { productId: string; position: number };
      const query = await fetch(`${base}/products/${productId}?after=${position}`);
      expect(query.headers.get("eventline-freshness")).toBe("fresh");
      expect(await query.json()).toMatchObject({ productId, name: "Dinosaur", price: 999 });
      // The same events are in the store the Bun side reads.
      expect((await h.shop.store.readStream(`product-${productId}`)).map((e) => e.type)).toEqual(["ProductAdded"]);
    } finally {
      deno.kill("SIGTERM");
      const stopped = await Promise.race([deno.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
      if (!stopped) deno.kill("SIGKILL");
      await deno.exited;
    }
    // Nothing is left serving on the port once the process is gone.
    expect(
      await fetch(`${base}/health`).then(
        () => "up",
        () => "down",
      ),
    ).toBe("down");
  }, 90_000);
});
