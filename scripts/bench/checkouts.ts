/**
 * The whole pipeline under a sustained load: complete checkouts (a new customer, an order, an item, the
 * order placed, then the saga reserving stock, charging and confirming) started at a paced rate for a
 * while, rate after rate, against the shop's processes as production runs them. A rate is held when every
 * request answered 2xx, every read model's commit→read p99 stayed within the bound, no backlog (outbox,
 * queues, sagas) grew through the phase, and everything was done soon after it.
 */
import { backlogGrew } from "./backlog-grew.ts";
import type { BenchShop } from "./bench-shop.ts";
import { summarize } from "./measure.ts";
import { cpuClock } from "./process-cpu.ts";

export type CheckoutPhase = {
  /** Checkouts started per second. */
  rate: number;
  seconds: number;
  checkouts: number;
  failed: number;
  /** A whole checkout's four requests, one after another, as the client saw them. */
  p50Ms: number;
  p99Ms: number;
  applyLatency: Record<string, { p50Ms: number; p99Ms: number; events: number }>;
  backlogGrew: string[];
  /** Seconds after the phase until nothing was left to do (null: still busy after the grace). */
  drainedAfterS: number | null;
  /** Each process's share of one core during the phase, in %. */
  cpu: Record<string, number>;
  held: boolean;
};

export type CheckoutsResult = { phases: CheckoutPhase[]; highestHeldRate: number; boundMs: number };

/** What a checkout sends the API; the ratio to the command ceiling counts these. */
export const COMMANDS_PER_CHECKOUT = 4;

export async function benchCheckouts(
  shop: BenchShop,
  options: { rates: number[]; seconds: number; boundMs: number },
): Promise<CheckoutsResult> {
  const skus: string[] = [];
  for (let i = 0; i < 20; i++) {
    const sku = `C-${crypto.randomUUID().slice(0, 8)}`;
    await shop.post("/products", { sku, name: `Bench ${i}`, price: 500 + i }, shop.staff);
    await shop.post(`/inventory/${sku}/receipts`, { quantity: 1_000_000 }, shop.staff);
    skus.push(sku);
  }
  let failedOne = "";
  const checkout = async (i: number) => {
    const started = performance.now();
    try {
      const customer = await shop.newCustomer();
      const { orderId } = (await shop.post("/orders", {}, customer.auth)) as { orderId: string };
      await shop.post(`/orders/${orderId}/items`, { sku: skus[i % skus.length], quantity: 1 }, customer.auth);
      await shop.post(`/orders/${orderId}/place`, { paymentToken: "tok_bench" }, customer.auth);
      return performance.now() - started;
    } catch (error) {
      failedOne ||= String(error);
      return null;
    }
  };

  const phases: CheckoutPhase[] = [];
  let highestHeldRate = 0;
  let next = 0;
  for (const rate of options.rates) {
    const from = new Date();
    const clock = cpuClock(shop.processes);
    const samples = { outbox: [] as number[], queued: [] as number[], sagas: [] as number[] };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const b = await shop.backlog();
        samples.outbox.push(b.outbox);
        samples.queued.push(b.queued);
        samples.sagas.push(b.sagas);
        await Bun.sleep(1_000);
      }
    })();
    const total = Math.round(rate * options.seconds);
    const inFlight: Promise<number | null>[] = [];
    const phaseStart = performance.now();
    for (let k = 0; k < total; k++) {
      const wait = phaseStart + (k * 1000) / rate - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      inFlight.push(checkout(next++));
    }
    const latencies = await Promise.all(inFlight);
    const to = new Date();
    const cpu = clock.stop();
    sampling = false;
    await sampler;
    const drainStart = performance.now();
    let drainedAfterS: number | null = null;
    while (performance.now() - drainStart < 20_000) {
      const b = await shop.backlog();
      if (b.outbox === 0 && b.queued === 0 && b.sagas === 0) {
        drainedAfterS = (performance.now() - drainStart) / 1000;
        break;
      }
      await Bun.sleep(200);
    }
    const applyLatency = await shop.applyLatency(from, to);
    // Events per checkout: about eight (customer, order, item, placed, reserved, charged, confirmed, saga).
    const grew = [
      backlogGrew(samples.outbox, rate * 8) ? "outbox" : "",
      backlogGrew(samples.queued, rate * 8) ? "queues" : "",
      backlogGrew(samples.sagas, rate) ? "sagas" : "",
    ].filter(Boolean);
    const done = latencies.filter((l): l is number => l !== null);
    const measured = summarize(done, options.seconds);
    const held =
      done.length === total &&
      grew.length === 0 &&
      drainedAfterS !== null &&
      Object.values(applyLatency).every((l) => l.p99Ms <= options.boundMs) &&
      Object.keys(applyLatency).length >= 5;
    phases.push({
      rate,
      seconds: options.seconds,
      checkouts: total,
      failed: total - done.length,
      p50Ms: measured.p50Ms,
      p99Ms: measured.p99Ms,
      applyLatency,
      backlogGrew: grew,
      drainedAfterS,
      cpu,
      held,
    });
    if (!held) {
      if (failedOne) console.error(`bench: a checkout failed at ${rate}/s: ${failedOne}`);
      break;
    }
    highestHeldRate = rate;
  }
  return { phases, highestHeldRate, boundMs: options.boundMs };
}
