import { Hono } from "hono";
import type { Sql } from "postgres";
import * as v from "valibot";

/** One charge as the provider recorded it; its idempotency key is its id. */
export type ProviderCharge = {
  idempotencyKey: string;
  orderId: string;
  amount: number;
  approved: boolean;
  reason: string | null;
};
export type ProviderRefund = { idempotencyKey: string; orderId: string; amount: number };

const ChargeBody = v.strictObject({
  idempotencyKey: v.pipe(v.string(), v.minLength(1), v.maxLength(300)),
  orderId: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
  amount: v.pipe(v.number(), v.integer(), v.minValue(0)),
  reference: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
});
const PaymentMethodBody = v.strictObject({ token: v.pipe(v.string(), v.minLength(1), v.maxLength(200)) });
const RefundBody = v.strictObject({
  idempotencyKey: v.pipe(v.string(), v.minLength(1), v.maxLength(300)),
  orderId: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
  amount: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

/** The provider's own tables, beside nothing of the shop's: its record is the independent truth about money. */
export async function ensureProviderTables(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('payment-provider.' || current_schema()))`;
    await tx`create table if not exists provider_charges (
      idempotency_key text primary key, order_id text not null, amount bigint not null, approved boolean not null,
      reason text, created_at timestamptz not null default now())`;
    await tx`create index if not exists provider_charges_order on provider_charges (order_id)`;
    // A stand-in's vault: what a charge needs to decide (decline or not), never the card token itself.
    await tx`create table if not exists provider_payment_methods (
      reference text primary key, last4 text not null, declines boolean not null,
      created_at timestamptz not null default now())`;
    await tx`create table if not exists provider_refunds (
      idempotency_key text primary key, order_id text not null, amount bigint not null,
      created_at timestamptz not null default now())`;
  });
}

/**
 * A stand-in payment provider with its own state, the way real ones behave: every request carries an
 * idempotency key, and the same key again answers what the first request got and moves no money twice.
 * A card token is exchanged for a reference (POST /payment-methods) and charges name the reference; cards
 * whose token starts with `decline`, and references it does not know, are declined. A refund needs an approved charge of the order, and refunds
 * it once per key.
 */
export function createPaymentProvider(deps: { sql: Sql; latencyMs?: number }): Hono {
  const { sql } = deps;
  const app = new Hono();
  const pause = () => (deps.latencyMs ? new Promise((r) => setTimeout(r, deps.latencyMs)) : Promise.resolve());
  const bad = (issues: v.BaseIssue<unknown>[]) => ({ error: "invalid request", issues: issues.map((i) => i.message) });

  app.post("/payment-methods", async (c) => {
    const parsed = v.safeParse(PaymentMethodBody, await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(bad(parsed.issues), 400);
    const { token } = parsed.output;
    const reference = `pm_${crypto.randomUUID()}`;
    const last4 = token.slice(-4);
    await sql`insert into provider_payment_methods (reference, last4, declines)
      values (${reference}, ${last4}, ${token.startsWith("decline")})`;
    return c.json({ reference, last4 }, 201);
  });

  app.post("/charges", async (c) => {
    const parsed = v.safeParse(ChargeBody, await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(bad(parsed.issues), 400);
    const { idempotencyKey, orderId, amount, reference } = parsed.output;
    const [method] = await sql<{ declines: boolean }[]>`
      select declines from provider_payment_methods where reference = ${reference}`;
    const approved = method !== undefined && !method.declines;
    const reason = method ? "card declined" : "unknown payment method";
    await sql`
      insert into provider_charges (idempotency_key, order_id, amount, approved, reason)
      values (${idempotencyKey}, ${orderId}, ${amount}, ${approved}, ${approved ? null : reason})
      on conflict (idempotency_key) do nothing`;
    const [charge] = await sql<{ order_id: string; amount: number; approved: boolean; reason: string | null }[]>`
      select order_id, amount, approved, reason from provider_charges where idempotency_key = ${idempotencyKey}`;
    if (!charge || charge.order_id !== orderId || Number(charge.amount) !== amount) {
      return c.json({ error: "idempotency key reused for another charge" }, 422);
    }
    await pause();
    return c.json({ approved: charge.approved, reason: charge.reason ?? undefined });
  });

  app.post("/refunds", async (c) => {
    const parsed = v.safeParse(RefundBody, await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(bad(parsed.issues), 400);
    const { idempotencyKey, orderId, amount } = parsed.output;
    const inserted = await sql`
      insert into provider_refunds (idempotency_key, order_id, amount)
      select ${idempotencyKey}, ${orderId}, ${amount}
      where exists (select 1 from provider_charges where order_id = ${orderId} and approved)
      on conflict (idempotency_key) do nothing returning 1`;
    if (inserted.length === 0) {
      const [earlier] = await sql`select 1 from provider_refunds where idempotency_key = ${idempotencyKey}`;
      if (!earlier) return c.json({ error: `order ${orderId} has no approved charge to refund` }, 409);
    }
    return c.json({ refunded: true });
  });

  app.get("/charges/:key", async (c) => {
    const [charge] = await sql<{ approved: boolean; amount: number }[]>`
      select approved, amount from provider_charges where idempotency_key = ${c.req.param("key")}`;
    return charge
      ? c.json({ approved: charge.approved, amount: Number(charge.amount) })
      : c.json({ error: "no such charge" }, 404);
  });

  app.get("/orders/:orderId", async (c) => {
    const orderId = c.req.param("orderId");
    return c.json(await providerRecordOf(sql, orderId));
  });
  app.get("/health", (c) => c.json({ status: "ok" }));
  return app;
}

/** What the provider holds for one order. */
export async function providerRecordOf(
  sql: Sql,
  orderId: string,
): Promise<{ charges: ProviderCharge[]; refunds: ProviderRefund[] }> {
  const charges = await sql<{ idempotency_key: string; amount: number; approved: boolean; reason: string | null }[]>`
    select idempotency_key, amount, approved, reason from provider_charges where order_id = ${orderId} order by created_at`;
  const refunds = await sql<{ idempotency_key: string; amount: number }[]>`
    select idempotency_key, amount from provider_refunds where order_id = ${orderId} order by created_at`;
  return {
    charges: charges.map((r) => ({
      idempotencyKey: r.idempotency_key,
      orderId,
      amount: Number(r.amount),
      approved: r.approved,
      reason: r.reason,
    })),
    refunds: refunds.map((r) => ({ idempotencyKey: r.idempotency_key, orderId, amount: Number(r.amount) })),
  };
}
