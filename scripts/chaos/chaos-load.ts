/**
 * A bounded command load against the API (at most `maxCommands` requests, and never past `deadline`) that
 * keeps the client's own record: every command sent, what it expects to have appended (stream and event
 * type) and what the API answered. The verdict is judged against this record, not against the store.
 */

export type Sent = {
  path: string;
  /** When the request was sent and when its answer (or the lack of one) came. */
  sentAt: number;
  at: number;
  status: number;
  /** No answer (the API was down or timed out): the command may or may not have happened. */
  unknown?: boolean;
  /** The stream and event type a 2xx must have appended, at `position`. */
  stream?: string;
  type?: string;
  position?: number;
  orderId?: string;
  sku?: string;
  quantity?: number;
  token?: string;
};

/** Customers act with their own tokens; the catalog and stock are staff's. */
export type Seed = {
  skus: { sku: string; productId: string }[];
  customers: { id: string; auth: Record<string, string> }[];
  staff: Record<string, string>;
  /** The Authorization header of a new customer with this id. */
  tokenFor: (customerId: string) => Promise<Record<string, string>>;
};

export type LoadOptions = {
  base: string;
  seed: Seed;
  workers: number;
  maxCommands: number;
  /** Time between one worker's commands. */
  pauseMs: number;
  /** The load runs until this says so (or the budget or deadline ends it). */
  done: () => boolean;
  deadline: number;
};

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;

/** The stream a command on an order or a new customer appends to, from the ids the client knows. */
function streamOf(orderId: string | undefined, customerId: unknown): string | undefined {
  if (orderId) return `order-${orderId}`;
  return typeof customerId === "string" ? `customer-${customerId}` : undefined;
}

export async function runLoad(options: LoadOptions, sent: Sent[]): Promise<void> {
  let budget = options.maxCommands;
  // Every price differs from every other, so a price change is never a no-op without an event.
  let priceCounter = 0;

  const { pauseMs } = options;

  async function post(path: string, body: unknown, expect: Partial<Sent>, auth = options.seed.staff): Promise<Sent> {
    budget--;
    await new Promise((r) => setTimeout(r, pauseMs * (0.5 + Math.random())));
    const sentAt = Date.now();
    try {
      const res = await fetch(`${options.base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
      const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      const orderId = typeof answer.orderId === "string" ? answer.orderId : expect.orderId;
      const s: Sent = {
        path,
        sentAt,
        at: Date.now(),
        status: res.status,
        position: typeof answer.position === "number" ? answer.position : undefined,
        ...expect,
        orderId,
        stream: expect.stream ?? streamOf(orderId, answer.customerId),
      };
      sent.push(s);
      return s;
    } catch {
      const s: Sent = { path, sentAt, at: Date.now(), status: 0, unknown: true, ...expect };
      sent.push(s);
      await new Promise((r) => setTimeout(r, 200));
      return s;
    }
  }

  async function worker() {
    while (budget > 0 && Date.now() < options.deadline && !options.done()) {
      const roll = Math.random();
      if (roll < 0.7) {
        const customer = pick(options.seed.customers);
        const created = await post("/orders", {}, { type: "OrderCreated" }, customer.auth);
        const orderId = created.status === 201 ? created.orderId : undefined;
        if (!orderId) continue;
        const items = Math.random() < 0.5 ? 1 : 2;
        let ok = true;
        for (let i = 0; i < items && ok; i++) {
          const sku = pick(options.seed.skus).sku;
          // Now and then more than the stock can hold, so some checkouts fail for want of stock.
          const quantity = Math.random() < 0.1 ? 60 : 1 + Math.floor(Math.random() * 3);
          ok =
            (
              await post(
                `/orders/${orderId}/items`,
                { sku, quantity },
                { type: "ItemAdded", orderId, sku, quantity },
                customer.auth,
              )
            ).status === 200;
        }
        if (!ok) continue;
        const token = Math.random() < 0.1 ? "decline_chaos" : "tok_chaos";
        await post(`/orders/${orderId}/place`, { paymentToken: token }, { type: "OrderPlaced", orderId, token }, customer.auth);
      } else if (roll < 0.85) {
        const { sku } = pick(options.seed.skus);
        const quantity = 1 + Math.floor(Math.random() * 5);
        await post(
          `/inventory/${sku}/receipts`,
          { quantity },
          { type: "StockReceived", stream: `inventory-${sku}`, sku, quantity },
        );
      } else if (roll < 0.95) {
        const { productId } = pick(options.seed.skus);
        priceCounter++;
        await post(
          `/products/${productId}/price`,
          { price: 1_000 + priceCounter },
          { type: "PriceChanged", stream: `product-${productId}` },
        );
      } else {
        const id = crypto.randomUUID();
        const auth = await options.seed.tokenFor(id);
        await post("/customers", { name: "Chaos Customer", email: "chaos@example.com" }, { type: "CustomerRegistered" }, auth);
      }
    }
  }

  await Promise.all(Array.from({ length: options.workers }, worker));
}
