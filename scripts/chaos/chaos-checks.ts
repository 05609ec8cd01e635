/**
 * The chaos run's verdict, judged against independent truth: the client's own record of every command
 * and its answer, and the payment provider's table of charges and refunds. The store is what is on trial.
 */
import type { Sql } from "postgres";
import { auditFromStart } from "../../src/consumers/audit.ts";
import { replayIntoCopy } from "../../src/consumers/rebuild.ts";
import { sagaStarter } from "../../src/sagas/saga-starter.ts";
import { outboxStatus } from "../../src/outbox/outbox-queries.ts";
import type { createShop } from "../../examples/shop/create-shop.ts";
import type { Sent } from "./chaos-load.ts";

type Shop = ReturnType<typeof createShop>;

/** The store's database, and the one the read models, inboxes and sagas live in (the same one, or not). */
export type ChaosDatabases = { sql: Sql; readSql: Sql };

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
export async function settle(
  { sql, readSql }: ChaosDatabases,
  shop: Shop,
  timeoutMs: number,
): Promise<{ settled: boolean; waitedMs: number }> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      const depth = (await outboxStatus(sql)).depth;
      const head = await shop.store.headPosition();
      const applied = await Promise.all(shop.readModels.map((d) => shop.hasApplied(d.name, head)));
      const [busy] = await readSql<
        { n: number }[]
      >`select count(*)::int as n from eventline_saga_instances where status in ('running', 'compensating')`;
      if (depth === 0 && applied.every(Boolean) && busy?.n === 0) return { settled: true, waitedMs: Date.now() - started };
    } catch {
      // a server may still be coming back
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { settled: false, waitedMs: Date.now() - started };
}

export type Findings = {
  /** 2xx answers whose position holds no event, or an event of another stream or type. */
  eventsLost: number;
  lostDetails: string[];
  /** 2xx answers that gave no position. */
  answersWithoutPosition: number;
  /** Per placed order: charges, refunds, reservations or outcomes more than once, against the provider and the store. */
  duplicateCharges: number;
  duplicateRefunds: number;
  duplicateReservations: number;
  duplicateOutcomes: number;
  /** Placed orders whose money or stock disagrees with their outcome (confirmed unpaid, cancelled still charged, …). */
  inconsistentOrders: number;
  orderDetails: string[];
  readModelRowsDiffering: Record<string, number>;
  /** `eventline audit` per read model and saga starter: events not applied, versions the store lacks. */
  auditFindings: Record<string, number>;
  auditDetails: string[];
  /** Placed orders whose row in the orders read model shows another status than their events. */
  ordersShownWrong: number;
  stuckSagas: number;
  stockReceivedOutOfRange: number;
  parkedStreams: number;
  /** The first few parked streams with the relay's last error. */
  parkedDetails: string[];
  ordersConfirmed: number;
  ordersCancelled: number;
};

type OrderRecord = { items: Map<string, number>; placed: "yes" | "maybe" };

/** What the client knows of its orders: the items each 2xx add-item put in, and whether its place was answered. */
function ordersOf(sent: Sent[]): Map<string, OrderRecord> {
  const orders = new Map<string, OrderRecord>();
  for (const s of sent) {
    if (!s.orderId) continue;
    if (s.type === "ItemAdded" && s.status === 200 && s.sku) {
      const o = orders.get(s.orderId) ?? { items: new Map(), placed: "maybe" };
      o.items.set(s.sku, (o.items.get(s.sku) ?? 0) + (s.quantity ?? 0));
      orders.set(s.orderId, o);
    }
  }
  for (const s of sent) {
    if (s.type !== "OrderPlaced" || !s.orderId) continue;
    const o = orders.get(s.orderId);
    if (o && s.status === 200) o.placed = "yes";
  }
  return orders;
}

export async function check(
  { sql, readSql }: ChaosDatabases,
  shop: Shop,
  sent: Sent[],
  seedQuantity: Map<string, number>,
): Promise<Findings> {
  // Every 2xx: its event is in the store at the position it was told, in the stream and of the type the
  // client expects from the command it sent.
  const accepted = sent.filter((s) => s.status >= 200 && s.status < 300);
  const answersWithoutPosition = accepted.filter((s) => !s.position).length;
  const positions = accepted.flatMap((s) => (s.position ? [s.position] : []));
  const stored = await retrying(
    () => sql<{ position: number; stream_id: string; type: string }[]>`
      select position, stream_id, type from eventline_events where position = any(${positions}::int8[])`,
  );
  const byPosition = new Map(stored.map((r) => [r.position, r]));
  const lostDetails: string[] = [];
  for (const s of accepted) {
    if (!s.position) continue;
    const e = byPosition.get(s.position);
    if (!e || e.stream_id !== s.stream || e.type !== s.type) {
      lostDetails.push(
        `${s.path} -> ${s.position}: expected ${s.stream} ${s.type}, found ${e ? `${e.stream_id} ${e.type}` : "nothing"}`,
      );
    }
  }

  // Orders, against the provider's table and the store.
  const orders = ordersOf(sent);
  const outcomes = await sql<{ order_id: string; placed: number; confirmed: number; cancelled: number }[]>`
    select substr(stream_id, 7) as order_id,
           count(*) filter (where type = 'OrderPlaced')::int as placed,
           count(*) filter (where type = 'OrderConfirmed')::int as confirmed,
           count(*) filter (where type = 'OrderCancelled')::int as cancelled
    from eventline_events where category = 'order' group by stream_id`;
  const money = await sql<{ order_id: string; charged: number; refunded: number }[]>`
    select o.order_id,
           (select count(*)::int from provider_charges c where c.order_id = o.order_id and c.approved) as charged,
           (select count(*)::int from provider_refunds r where r.order_id = o.order_id) as refunded
    from (select distinct order_id from provider_charges) o`;
  const reservations = await sql<{ order_id: string; sku: string; reserved: number; released: number; times: number }[]>`
    select data->>'orderId' as order_id, data->>'sku' as sku,
           coalesce(sum((data->>'quantity')::int) filter (where type = 'StockReserved'), 0)::int as reserved,
           coalesce(sum((data->>'quantity')::int) filter (where type = 'ReservationReleased'), 0)::int as released,
           count(*) filter (where type = 'StockReserved')::int as times
    from eventline_events where category = 'inventory' and type in ('StockReserved', 'ReservationReleased') group by 1, 2`;
  const sagas = await readSql<{ saga_id: string; status: string }[]>`select saga_id, status from eventline_saga_instances`;
  const sagaOf = new Map(sagas.map((s) => [s.saga_id, s.status]));
  const moneyOf = new Map(money.map((m) => [m.order_id, m]));
  type Held = (typeof reservations)[number];
  const reservedOf = new Map<string, Held[]>();
  for (const r of reservations) reservedOf.set(r.order_id, [...(reservedOf.get(r.order_id) ?? []), r]);

  let duplicateCharges = 0;
  let duplicateRefunds = 0;
  let duplicateReservations = 0;
  let duplicateOutcomes = 0;
  let inconsistentOrders = 0;
  const orderDetails: string[] = [];
  let ordersConfirmed = 0;
  let ordersCancelled = 0;
  const wrong = (orderId: string, why: string) => {
    inconsistentOrders++;
    if (orderDetails.length < 20) orderDetails.push(`${orderId}: ${why}`);
  };
  for (const o of outcomes) {
    const client = orders.get(o.order_id);
    const m = moneyOf.get(o.order_id) ?? { charged: 0, refunded: 0 };
    const held = reservedOf.get(o.order_id) ?? [];
    if (m.charged > 1) duplicateCharges++;
    if (m.refunded > 1) duplicateRefunds++;
    duplicateReservations += held.filter((r) => r.times > 1).length;
    if (o.confirmed > 1 || o.cancelled > 1 || o.placed > 1) duplicateOutcomes++;
    if (o.placed === 0) {
      if (client?.placed === "yes") wrong(o.order_id, "the place was answered 2xx but no OrderPlaced is stored");
      if (m.charged > 0 || held.length > 0) wrong(o.order_id, "never placed, yet charged or reserved");
      continue;
    }
    if (o.confirmed + o.cancelled !== 1) {
      wrong(o.order_id, `placed, then confirmed ${o.confirmed} and cancelled ${o.cancelled} times`);
      continue;
    }
    const saga = sagaOf.get(`checkout-${o.order_id}`);
    if (saga !== "completed" && saga !== "compensated") wrong(o.order_id, `its saga is ${saga ?? "missing"}`);
    const net = new Map(held.map((r) => [r.sku, r.reserved - r.released]));
    if (o.confirmed === 1) {
      ordersConfirmed++;
      if (m.charged !== 1 || m.refunded !== 0) wrong(o.order_id, `confirmed with ${m.charged} charges, ${m.refunded} refunds`);
      for (const [sku, quantity] of client?.items ?? []) {
        if ((net.get(sku) ?? 0) !== quantity)
          wrong(o.order_id, `confirmed with ${net.get(sku) ?? 0} of ${quantity} ${sku} reserved`);
      }
    } else {
      ordersCancelled++;
      if (m.refunded !== m.charged) wrong(o.order_id, `cancelled with ${m.charged} charges and ${m.refunded} refunds`);
      for (const [sku, n] of net) if (n !== 0) wrong(o.order_id, `cancelled with ${n} ${sku} still reserved`);
    }
  }
  // A 2xx place must have an order stream at all.
  const known = new Set(outcomes.map((o) => o.order_id));
  for (const [orderId, o] of orders) if (o.placed === "yes" && !known.has(orderId)) wrong(orderId, "placed 2xx, no stream");

  // Stock received is what the answered receipts say, plus at most the unanswered ones.
  const received = await sql<{ sku: string; quantity: number }[]>`
    select data->>'sku' as sku, sum((data->>'quantity')::int)::int as quantity from eventline_events where type = 'StockReceived' group by 1`;
  let stockReceivedOutOfRange = 0;
  for (const { sku, quantity } of received) {
    const receipts = sent.filter((s) => s.type === "StockReceived" && s.sku === sku);
    const sure = receipts.filter((s) => s.status === 200).reduce((a, s) => a + (s.quantity ?? 0), 0);
    const maybe = receipts.filter((s) => s.unknown).reduce((a, s) => a + (s.quantity ?? 0), 0);
    const seed = seedQuantity.get(sku) ?? 0;
    if (quantity < seed + sure || quantity > seed + sure + maybe) stockReceivedOutOfRange++;
  }

  // The orders read model against the outcomes read from the events with plain SQL, not through the
  // replay code the rebuild also uses: each placed order shows the status its events say. (Two queries:
  // the read model may live in another database.)
  const truth = await sql<{ order_id: string; status: string }[]>`
    select substr(e.stream_id, 7) as order_id,
           case when bool_or(e.type = 'OrderConfirmed') then 'CONFIRMED'
                when bool_or(e.type = 'OrderCancelled') then 'CANCELLED' else 'PLACED' end as status
    from eventline_events e where e.category = 'order' and e.type in ('OrderPlaced', 'OrderConfirmed', 'OrderCancelled')
    group by e.stream_id`;
  const shownRows = await readSql<{ order_id: string; status: string }[]>`select order_id::text, status from shop_orders`;
  const shownStatus = new Map(shownRows.map((r) => [r.order_id, r.status]));
  const ordersShownWrong = truth.filter((t) => shownStatus.get(t.order_id) !== t.status).length;

  // Every read model equals a fresh replay of the store.
  const readModelRowsDiffering: Record<string, number> = {};
  for (const def of shop.readModels) {
    // Replayed one handler at a time in log order, so the live model's interleaved handlers are checked
    // against a path that does not share their concurrency.
    const copy = await replayIntoCopy({ sql: readSql, store: shop.store, def: { ...def, sequential: true }, label: "chk" });
    let differing = 0;
    for (const [live, fresh] of Object.entries(copy.tables)) {
      const [d] = await readSql.unsafe<{ n: number }[]>(`
        select count(*)::int as n from (
          (select to_jsonb(a) - 'updated_at' from ${live} a except all select to_jsonb(b) - 'updated_at' from ${fresh} b)
          union all
          (select to_jsonb(b) - 'updated_at' from ${fresh} b except all select to_jsonb(a) - 'updated_at' from ${live} a)) d`);
      differing += d?.n ?? 0;
    }
    readModelRowsDiffering[def.name] = differing;
    await copy.drop();
  }

  // Nothing lost on the way to any read model: the same audit an operator runs, with no lag allowed.
  const auditFindings: Record<string, number> = {};
  const auditDetails: string[] = [];
  const starters = shop.sagas().map((saga) => sagaStarter(saga, "unused"));
  for (const def of [...shop.readModels, ...starters]) {
    const { findings } = await auditFromStart({ store: shop.store, sql: readSql, def }, 0);
    auditFindings[def.name] = findings.length;
    auditDetails.push(...findings.slice(0, 5).map((f) => `${def.name}: ${JSON.stringify(f)}`));
  }

  const { parked } = await outboxStatus(sql);
  const stuck = sagas.filter((s) => s.status !== "completed" && s.status !== "compensated").length;
  return {
    eventsLost: lostDetails.length,
    lostDetails: lostDetails.slice(0, 20),
    answersWithoutPosition,
    duplicateCharges,
    duplicateRefunds,
    duplicateReservations,
    duplicateOutcomes,
    inconsistentOrders,
    orderDetails,
    readModelRowsDiffering,
    auditFindings,
    auditDetails,
    stuckSagas: stuck,
    stockReceivedOutOfRange,
    parkedStreams: parked.length,
    parkedDetails: parked.slice(0, 5).map((p) => `${p.streamId}@${p.version}: ${p.lastError}`),
    ordersShownWrong,
    ordersConfirmed,
    ordersCancelled,
  };
}

/**
 * Answers in the windows between faults: each must hold at least one 2xx, and no 5xx or unanswered
 * request may fall outside a fault's window (plus `graceMs` after it, for the processes to reconnect).
 */
export function windowsBetween(
  sent: Sent[],
  faults: { name?: string; startedAt: number; endedAt: number }[],
  graceMs: number,
): { windowsWithout2xx: number; emptyWindows: string[]; errorsOutsideFaults: number; errorDetails: string[] } {
  const inFault = (t: number) => faults.some((f) => t >= f.startedAt && t <= f.endedAt + graceMs);
  const outside = sent.filter((s) => (s.status >= 500 || s.unknown) && !inFault(s.sentAt) && !inFault(s.at));
  const edges = [Number.NEGATIVE_INFINITY, ...faults.flatMap((f) => [f.startedAt, f.endedAt]), Number.POSITIVE_INFINITY];
  const emptyWindows: string[] = [];
  for (let i = 0; i + 1 < edges.length; i += 2) {
    const [from, to] = [edges[i] as number, edges[i + 1] as number];
    if (to <= from) continue;
    if (sent.some((s) => s.status >= 200 && s.status < 300 && s.at > from && s.at < to)) continue;
    // What the window held instead, so a miss says which fault it followed and what the client met.
    const inside = sent.filter((s) => s.at > from && s.at < to);
    const statuses = [...new Set(inside.map((s) => s.status || "no answer"))].join(", ") || "no request answered";
    const after = i === 0 ? "before the first fault" : `after ${faults[i / 2 - 1]?.name ?? `fault ${i / 2}`}`;
    const seconds = Number.isFinite(to - from) ? `${((to - from) / 1000).toFixed(1)} s` : "to the end";
    emptyWindows.push(`${after} (${seconds}): ${inside.length} answers, ${statuses}`);
  }
  return {
    windowsWithout2xx: emptyWindows.length,
    emptyWindows,
    errorsOutsideFaults: outside.length,
    errorDetails: outside.slice(0, 10).map((s) => `${s.path} ${s.status || "no answer"} at ${new Date(s.at).toISOString()}`),
  };
}
