/** What the chaos run verifies once the system has settled: nothing lost, nothing applied twice. */
import type { Sql } from "postgres";
import { replayIntoCopy } from "../../src/consumers/rebuild.ts";
import { outboxStatus } from "../../src/outbox/outbox-queries.ts";
import type { createShop } from "../../src/shop/create-shop.ts";
import type { Sent } from "./chaos-load.ts";

type Shop = ReturnType<typeof createShop>;

async function retrying<T>(work: () => Promise<T>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Waits until the outbox is empty, every read model has applied the head, and no saga is in flight. */
export async function settle(sql: Sql, shop: Shop, timeoutMs: number): Promise<{ settled: boolean; waitedMs: number }> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      const depth = (await outboxStatus(sql)).depth;
      const head = await shop.store.headPosition();
      const applied = await Promise.all(shop.readModels.map((d) => shop.hasApplied(d.name, head)));
      const [busy] = await sql<
        { n: number }[]
      >`select count(*)::int as n from saga_instances where status in ('running', 'compensating')`;
      if (depth === 0 && applied.every(Boolean) && busy?.n === 0) return { settled: true, waitedMs: Date.now() - started };
    } catch {
      // a server may still be coming back
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { settled: false, waitedMs: Date.now() - started };
}

export type Findings = {
  eventsLost: number;
  duplicateEffects: number;
  duplicateDetails: string[];
  readModelRowsDiffering: Record<string, number>;
  stuckSagas: number;
  cancelledButCharged: number;
  stockReceivedOutOfRange: number;
};

export async function check(sql: Sql, shop: Shop, sent: Sent[], seedQuantity: Map<string, number>): Promise<Findings> {
  // Every answered command's events are in the store, at the position it was told.
  const positions = sent
    .filter((s) => s.status >= 200 && s.status < 300 && (s.position ?? 0) > 0)
    .map((s) => s.position as number);
  const [found] = await retrying(
    () => sql<{ n: number }[]>`select count(distinct position)::int as n from events where position = any(${positions}::int8[])`,
  );
  const eventsLost = new Set(positions).size - (found?.n ?? 0);

  // No effect twice: one charge, one refund, one confirmation per order, one reservation per order and sku.
  const duplicates = await sql<{ what: string; key: string; n: number }[]>`
    select type as what, stream_id as key, count(*)::int as n from events
      where type in ('PaymentCharged', 'PaymentRefunded', 'PaymentDeclined', 'OrderConfirmed', 'OrderCancelled', 'OrderPlaced')
      group by type, stream_id having count(*) > 1
    union all
    select 'StockReserved', stream_id || ' for ' || (data->>'orderId'), count(*)::int from events
      where type = 'StockReserved' group by stream_id, data->>'orderId' having count(*) > 1`;

  // Stock received is what the answered receipts say, plus at most the unanswered ones.
  const received = await sql<{ sku: string; quantity: number }[]>`
    select data->>'sku' as sku, sum((data->>'quantity')::int)::int as quantity from events where type = 'StockReceived' group by 1`;
  let stockReceivedOutOfRange = 0;
  for (const { sku, quantity } of received) {
    const receipts = sent.filter((s) => s.path === `/inventory/${sku}/receipts`);
    const sure = receipts.filter((s) => s.status === 200).reduce((a, s) => a + (s.quantity ?? 0), 0);
    const maybe = receipts.filter((s) => s.unknown).reduce((a, s) => a + (s.quantity ?? 0), 0);
    const seed = seedQuantity.get(sku) ?? 0;
    if (quantity < seed + sure || quantity > seed + sure + maybe) stockReceivedOutOfRange++;
  }

  // Money: a cancelled order whose payment was charged must have been refunded.
  const [kept] = await sql<{ n: number }[]>`
    select count(*)::int as n from events c
    where c.type = 'OrderCancelled'
      and exists (select 1 from events p where p.stream_id = 'payment-' || (c.data->>'orderId') and p.type = 'PaymentCharged')
      and not exists (select 1 from events r where r.stream_id = 'payment-' || (c.data->>'orderId') and r.type = 'PaymentRefunded')`;

  // Every read model equals a fresh replay of the store.
  const readModelRowsDiffering: Record<string, number> = {};
  for (const def of shop.readModels) {
    const copy = await replayIntoCopy({ sql, store: shop.store, def, label: "chk" });
    let differing = 0;
    for (const [live, fresh] of Object.entries(copy.tables)) {
      const [d] = await sql.unsafe<{ n: number }[]>(`
        select count(*)::int as n from (
          (select to_jsonb(a) - 'updated_at' from ${live} a except all select to_jsonb(b) - 'updated_at' from ${fresh} b)
          union all
          (select to_jsonb(b) - 'updated_at' from ${fresh} b except all select to_jsonb(a) - 'updated_at' from ${live} a)) d`);
      differing += d?.n ?? 0;
    }
    readModelRowsDiffering[def.name] = differing;
    await copy.drop();
  }

  const [stuck] = await sql<
    { n: number }[]
  >`select count(*)::int as n from saga_instances where status not in ('completed', 'compensated')`;
  return {
    eventsLost,
    duplicateEffects: duplicates.length,
    duplicateDetails: duplicates.map((d) => `${d.what} ${d.key} ×${d.n}`),
    readModelRowsDiffering,
    stuckSagas: stuck?.n ?? 0,
    cancelledButCharged: kept?.n ?? 0,
    stockReceivedOutOfRange,
  };
}
