/**
 * The shop as production runs it, for the benchmark's end-to-end sections: the API, the relay, every
 * consumer, the saga and the payment provider, each its own process, on the bench database with an
 * exchange and queues of their own. Requests go through HTTP as any client's would.
 */
import amqplib from "amqplib";
import { queueNames } from "../../src/consumers/topology.ts";
import { connect } from "../../src/store/connect.ts";
import { bearer, staffBearer } from "../bearer.ts";
import { deleteBrokerObjects } from "../broker-cleanup.ts";
import { type RunningProcess, shopProcesses, shopProcessEnv, startProcess } from "../process-runner.ts";
import { notePeaks } from "./peak-memory.ts";

/** The shop's consumers: its four read models and the checkout saga's starter. */
const CONSUMERS = ["catalog", "orders", "customers", "sales", "checkout"];

export type Headers = Record<string, string>;

export type BenchShop = {
  base: string;
  /** The shop's processes by name (api, relay, consumers, saga, provider). */
  processes: { name: string; pid: number }[];
  staff: Headers;
  /** POSTs a JSON body; the answer's JSON, or throws with the status. */
  post(path: string, body: unknown, auth: Headers): Promise<Record<string, unknown>>;
  /** Signs a new customer's token and registers them; their id and Authorization header. */
  newCustomer(): Promise<{ id: string; auth: Headers }>;
  /** What is still to do: outbox rows, ready messages in the consumers' queues, sagas not finished. */
  backlog(): Promise<{ outbox: number; queued: number; sagas: number }>;
  /** Commit→read-model p99 and p50 per consumer (ms) for the events committed in [from, to). */
  applyLatency(from: Date, to: Date): Promise<Record<string, { p50Ms: number; p99Ms: number; events: number }>>;
  /** The last lines each process printed, for a failure's report. */
  lastLines(): string;
  /** Stops every process (after noting its peak memory under `section`) and deletes the broker objects. */
  stop(section: string): Promise<void>;
};

async function untilAnswers(url: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (
    (await fetch(url).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms} ms`);
    await Bun.sleep(100);
  }
}

export async function startBenchShop(url: string, amqpUrl: string): Promise<BenchShop> {
  const shopEnv = shopProcessEnv("bench.shop", crypto.randomUUID().slice(0, 8));
  const base = shopEnv.base;
  const env: Record<string, string> = {
    ...shopEnv.env,
    DATABASE_URL: url,
    AMQP_URL: amqpUrl,
    LOG_LEVEL: "warn",
    DB_POOL_MAX: "20",
  };
  const sql = connect(url, { max: 2 });
  // Rows an earlier section left unpublished (its exchange is gone) would only slow this relay down.
  await sql`delete from eventline_outbox`;
  const running: RunningProcess[] = Object.entries(shopProcesses).map(([name, args]) => startProcess(name, args, env));
  const broker = await amqplib.connect(amqpUrl);
  // A queue asked about before it exists closes the channel; the next look opens another.
  let channel: amqplib.Channel | undefined;
  const stop = async (section: string) => {
    notePeaks(section, running);
    for (const p of running) await p.stop("SIGTERM");
    await broker.close();
    await sql.end();
    await deleteBrokerObjects(amqpUrl, {
      consumers: CONSUMERS,
      prefix: env.QUEUE_PREFIX,
      exchanges: [env.EVENTS_EXCHANGE as string],
    });
  };
  const lastLines = () => running.map((p) => `${p.name}:\n${p.lines.slice(-10).join("\n")}`).join("\n");
  try {
    await untilAnswers(`${base}/health`, 30_000);
    await untilAnswers(`${env.PAYMENT_PROVIDER_URL}/health`, 30_000);
  } catch (error) {
    console.error(lastLines());
    await stop("failed start");
    throw error;
  }
  const staff = await staffBearer(env);

  const post = async (path: string, body: unknown, auth: Headers) => {
    const res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify(body),
    });
    const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(answer)}`);
    return answer;
  };

  return {
    base,
    processes: running.map((p) => ({ name: p.name, pid: p.pid })),
    staff,
    post,
    async newCustomer() {
      const id = crypto.randomUUID();
      const auth = await bearer(id, [], env);
      await post("/customers", { name: "Bench Customer", email: "bench@example.com" }, auth);
      return { id, auth };
    },
    async backlog() {
      const [row] = await sql<{ outbox: number; sagas: number }[]>`
        select (select count(*) from eventline_outbox)::int as outbox,
               (select count(*) from eventline_saga_instances where status in ('running', 'compensating'))::int as sagas`;
      let queued = 0;
      for (const c of CONSUMERS) {
        if (!channel) {
          channel = await broker.createChannel();
          channel.on("error", () => {});
        }
        const q = await channel.checkQueue(queueNames(c, env.QUEUE_PREFIX).main).catch(() => {
          channel = undefined;
          return { messageCount: 0 };
        });
        queued += q.messageCount;
      }
      return { outbox: row?.outbox ?? 0, queued, sagas: row?.sagas ?? 0 };
    },
    async applyLatency(from, to) {
      // From the event's insert (its clock time) to the start of the transaction that applied it: the
      // append commits a little after the first, the apply a little after the second.
      const rows = await sql<{ consumer: string; p50: number; p99: number; events: number }[]>`
        select i.consumer,
               percentile_cont(0.5) within group (order by extract(epoch from i.applied_at - e.occurred_at)) * 1000 as p50,
               percentile_cont(0.99) within group (order by extract(epoch from i.applied_at - e.occurred_at)) * 1000 as p99,
               count(*)::int as events
        from eventline_events e join eventline_inbox i on i.event_id = e.event_id
        where e.occurred_at >= ${from} and e.occurred_at < ${to}
        group by i.consumer`;
      return Object.fromEntries(rows.map((r) => [r.consumer, { p50Ms: Number(r.p50), p99Ms: Number(r.p99), events: r.events }]));
    },
    lastLines,
    stop,
  };
}
