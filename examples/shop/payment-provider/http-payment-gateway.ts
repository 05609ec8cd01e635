import type { PaymentGateway } from "../domain/payments.ts";

/**
 * The shop's side of the payment provider, over HTTP. Every call carries the step's idempotency key, so
 * a retry after a crash (or after a lost answer) gets the first answer and moves no money twice. Any
 * answer other than 2xx is an error the saga retries, with the same key.
 */
export function createHttpGateway(baseUrl: string, timeoutMs = 5_000): PaymentGateway {
  async function call<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const res = await fetch(new URL(path, baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`payment provider answered ${res.status} to ${path}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  }
  return {
    tokenise: (token) => call("/payment-methods", { token }),
    charge: ({ signal, ...input }) => call("/charges", input, signal),
    async refund(input) {
      await call("/refunds", input);
    },
    async findCharge({ idempotencyKey }) {
      const res = await fetch(new URL(`/charges/${encodeURIComponent(idempotencyKey)}`, baseUrl), {
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`payment provider answered ${res.status} to a charge lookup`);
      return (await res.json()) as { approved: boolean; amount: number };
    },
  };
}
