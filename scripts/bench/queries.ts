/**
 * The read side under wrk: the shop's queries on read models, each alone at a number of connections,
 * against a shop whose read models hold what its own commands wrote.
 */
import type { BenchShop } from "./bench-shop.ts";
import { getPathsScript, type HttpRow, runWrk } from "./http.ts";

export async function benchQueries(shop: BenchShop, seconds: number, connections: number): Promise<HttpRow[]> {
  const sku = `Q-${crypto.randomUUID().slice(0, 8)}`;
  const { productId } = (await shop.post("/products", { sku, name: "Bench product", price: 1_250 }, shop.staff)) as {
    productId: string;
  };
  await shop.post(`/inventory/${sku}/receipts`, { quantity: 1_000 }, shop.staff);
  const customer = await shop.newCustomer();
  const orderIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { orderId } = (await shop.post("/orders", {}, customer.auth)) as { orderId: string };
    await shop.post(`/orders/${orderId}/items`, { sku, quantity: 1 + i }, customer.auth);
    orderIds.push(orderId);
  }
  const paths = {
    "GET /orders/:id": `/orders/${orderIds[0]}`,
    "GET /products/:id": `/products/${productId}`,
    "GET /customers/:id/orders": `/customers/${customer.id}/orders`,
  };
  // Every read model has what was written before the load starts: each query answers as it will under it.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answers = await Promise.all(
      Object.values(paths).map((p) =>
        fetch(`${shop.base}${p}`, { headers: customer.auth }).then(async (r) => ({ status: r.status, body: await r.json() })),
      ),
    );
    const orders = (answers[2]?.body as { orders?: { items: unknown[] }[] } | undefined)?.orders ?? [];
    if (answers.every((a) => a.status === 200) && orders.length === 3 && orders.every((o) => o.items.length === 1)) break;
    if (Date.now() > deadline) throw new Error(`the read models did not catch up: ${JSON.stringify(answers)}`);
    await Bun.sleep(100);
  }
  const rows: HttpRow[] = [];
  for (const [target, path] of Object.entries(paths)) {
    rows.push({
      target,
      connections,
      ...(await runWrk(shop.base, seconds, connections, customer.auth.authorization as string, getPathsScript([path]))),
    });
  }
  return rows;
}
