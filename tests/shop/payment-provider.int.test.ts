import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createHttpGateway } from "../../examples/shop/payment-provider/http-payment-gateway.ts";
import {
  createPaymentProvider,
  ensureProviderTables,
  providerRecordOf,
} from "../../examples/shop/payment-provider/provider-app.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

let db: TestDatabase;
let server: ReturnType<typeof Bun.serve>;
let gateway: ReturnType<typeof createHttpGateway>;

beforeAll(async () => {
  db = await createTestDatabase();
  await ensureProviderTables(db.sql);
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: createPaymentProvider({ sql: db.sql }).fetch });
  gateway = createHttpGateway(`http://127.0.0.1:${server.port}`);
});
afterAll(async () => {
  server.stop(true);
  await db.drop();
});

describe("the payment provider over HTTP", () => {
  it("charges once per idempotency key, answering a repeated key with the first answer", async () => {
    const orderId = crypto.randomUUID();
    const { reference } = await gateway.tokenise("tok_ok");
    const charge = { orderId, amount: 1200, reference, idempotencyKey: `k-${orderId}` };
    const answers = await Promise.all([gateway.charge(charge), gateway.charge(charge), gateway.charge(charge)]);
    expect(answers).toEqual([{ approved: true }, { approved: true }, { approved: true }]);
    expect((await providerRecordOf(db.sql, orderId)).charges).toHaveLength(1);
  });

  it("declines a declining token and refuses to refund an order it never charged", async () => {
    const orderId = crypto.randomUUID();
    const { reference } = await gateway.tokenise("decline_me");
    expect(await gateway.charge({ orderId, amount: 5, reference, idempotencyKey: `d-${orderId}` })).toEqual({
      approved: false,
      reason: "card declined",
    });
    await expect(gateway.refund({ orderId, amount: 5, idempotencyKey: `r-${orderId}` })).rejects.toThrow("409");
  });

  it("refunds once per key, and refuses a key reused for another charge", async () => {
    const orderId = crypto.randomUUID();
    const { reference } = await gateway.tokenise("tok_1111");
    await gateway.charge({ orderId, amount: 300, reference, idempotencyKey: `c-${orderId}` });
    await gateway.refund({ orderId, amount: 300, idempotencyKey: `r-${orderId}` });
    await gateway.refund({ orderId, amount: 300, idempotencyKey: `r-${orderId}` });
    expect((await providerRecordOf(db.sql, orderId)).refunds).toHaveLength(1);
    await expect(gateway.charge({ orderId, amount: 999, reference, idempotencyKey: `c-${orderId}` })).rejects.toThrow("422");
  });

  it("exchanges a card token for a reference and keeps only its last four characters", async () => {
    const token = "tok_4000056655665556";
    const method = await gateway.tokenise(token);
    expect(method).toEqual({ reference: expect.stringMatching(/^pm_/), last4: "5556" });
    const [row] = await db.sql<{ stored: string }[]>`
      select row_to_json(m)::text as stored from provider_payment_methods m where reference = ${method.reference}`;
    expect(row?.stored).toContain("5556");
    expect(row?.stored).not.toContain(token);
  });

  it("declines a charge naming a reference it never issued", async () => {
    const orderId = crypto.randomUUID();
    expect(await gateway.charge({ orderId, amount: 5, reference: "pm_made-up", idempotencyKey: `u-${orderId}` })).toEqual({
      approved: false,
      reason: "unknown payment method",
    });
  });
});
