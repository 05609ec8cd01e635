/** A bounded command load against the API: at most `maxCommands` requests and `durationMs` of time. */

export type Sent = { path: string; status: number; at: number; position?: number; quantity?: number; unknown?: boolean };

export type Seed = { skus: { sku: string; productId: string }[]; customers: string[] };

export type LoadOptions = { base: string; seed: Seed; workers: number; maxCommands: number; durationMs: number };

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;

export async function runLoad(options: LoadOptions, sent: Sent[]): Promise<void> {
  const deadline = Date.now() + options.durationMs;
  let budget = options.maxCommands;

  // Paced per command, so the commands spread over the whole run and so over every injected fault.
  const pauseMs = (options.durationMs * options.workers) / options.maxCommands;

  async function post(path: string, body: unknown, extra: Partial<Sent> = {}): Promise<Sent> {
    budget--;
    await new Promise((r) => setTimeout(r, pauseMs * (0.5 + Math.random())));
    try {
      const res = await fetch(`${options.base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
      const json = (await res.json().catch(() => ({}))) as { position?: number; orderId?: string };
      const s: Sent = { path, status: res.status, at: Date.now(), position: json.position, ...extra };
      sent.push(s);
      return Object.assign(s, { orderId: json.orderId });
    } catch {
      // No answer (the API was killed, or timed out): the command may or may not have happened.
      const s: Sent = { path, status: 0, at: Date.now(), unknown: true, ...extra };
      sent.push(s);
      await new Promise((r) => setTimeout(r, 200));
      return s;
    }
  }

  async function worker() {
    while (budget > 0 && Date.now() < deadline) {
      const roll = Math.random();
      if (roll < 0.7) {
        const created = (await post("/orders", { customerId: pick(options.seed.customers) })) as Sent & { orderId?: string };
        if (!created.orderId) continue;
        const items = Math.random() < 0.5 ? 1 : 2;
        let ok = true;
        for (let i = 0; i < items && ok; i++) {
          ok =
            (
              await post(`/orders/${created.orderId}/items`, {
                sku: pick(options.seed.skus).sku,
                quantity: 1 + Math.floor(Math.random() * 3),
              })
            ).status === 200;
        }
        if (ok)
          await post(`/orders/${created.orderId}/place`, { paymentToken: Math.random() < 0.1 ? "decline_chaos" : "tok_chaos" });
      } else if (roll < 0.85) {
        const { sku } = pick(options.seed.skus);
        const quantity = 1 + Math.floor(Math.random() * 5);
        await post(`/inventory/${sku}/receipts`, { quantity }, { quantity });
      } else if (roll < 0.95) {
        await post(`/products/${pick(options.seed.skus).productId}/price`, { price: 100 + Math.floor(Math.random() * 900) });
      } else {
        await post("/customers", { name: "Chaos Customer", email: "chaos@example.com" });
      }
    }
  }

  await Promise.all(Array.from({ length: options.workers }, worker));
}
