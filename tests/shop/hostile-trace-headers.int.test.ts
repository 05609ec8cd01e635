import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
beforeAll(async () => {
  h = await createShopHarness();
});
afterAll(async () => h.close());

const addProduct = (headers: Record<string, string>) =>
  h.app.request("/products", {
    method: "POST",
    headers: { "content-type": "application/json", ...h.staff, ...headers },
    body: JSON.stringify({ sku: `TR-${crypto.randomUUID().slice(0, 12)}`, name: "Lamp", price: 100 }),
  });

const storedMetadata = async (productId: string) => {
  const [row] = await h.db.sql<{ metadata: Record<string, unknown> }[]>`
    select metadata from eventline_events where stream_id = ${`product-${productId}`} order by version limit 1`;
  return row?.metadata ?? {};
};

describe("trace headers a caller sends", () => {
  it("never fail a command or reach the store unless they are well-formed W3C trace context", async () => {
    const header = fc.oneof(
      fc.string({ maxLength: 600 }),
      fc.constantFrom(
        "00-zzzz",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      ),
    );
    await fc.assert(
      fc.asyncProperty(header, fc.string({ maxLength: 600 }), async (traceparent, tracestate) => {
        // Only what a Headers object takes: a header with a newline or NUL never leaves the client.
        const headers: Record<string, string> = {};
        try {
          new Headers({ traceparent, tracestate });
          Object.assign(headers, { traceparent, tracestate });
        } catch {
          // sent without trace headers
        }
        const res = await addProduct(headers);
        expect(res.status).toBe(201);
        const metadata = await storedMetadata(((await res.json()) as { productId: string }).productId);
        if (metadata.traceparent !== undefined) expect(metadata.traceparent).toMatch(/^00-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/);
        expect(
          metadata.traceparent === undefined ||
            metadata.traceparent !== "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it("carry a caller's valid trace on into the events, and keep at most the 32 tracestate members W3C allows", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const tracestate = Array.from({ length: 50 }, (_, i) => `k${i}=v${i}`).join(",");
    const res = await addProduct({ traceparent: `00-${traceId}-00f067aa0ba902b7-01`, tracestate });
    expect(res.status).toBe(201);
    const metadata = await storedMetadata(((await res.json()) as { productId: string }).productId);
    expect(metadata.traceparent).toBe(`00-${traceId}-00f067aa0ba902b7-01`);
    expect(String(metadata.tracestate ?? "").split(",").length).toBeLessThanOrEqual(32);
  });
});
