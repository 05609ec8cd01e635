import { processConsumers } from "./process-consumers.ts";
import { Gauge, Registry } from "prom-client";
import { startConsumers } from "../consumers/consumer-runtime.ts";
import { createLiveness } from "../core/liveness.ts";
import { connectBroker } from "../broker/amqp-connection.ts";
import { createSagaWorker } from "../sagas/saga-worker.ts";
import { sagaStarter } from "../sagas/saga-starter.ts";
import { onShutdown, type ProcessContext, serveProbe, wireProcess } from "./process-kit.ts";

/** With the fault `saga-crash-after:<step>`, the process dies once that step's action has run, before it is recorded. */
function crashAfterStep(ctx: ProcessContext) {
  const step = ctx.config.fault?.startsWith("saga-crash-after:") ? ctx.config.fault.slice("saga-crash-after:".length) : undefined;
  if (!step) return undefined;
  return (_instance: unknown, done: string) => {
    if (done !== step) return;
    ctx.log("warn", `fault injected: crashing after the ${step} step, before recording it`);
    process.kill(process.pid, "SIGKILL");
  };
}

/** The saga process: starts the app's sagas from their start events (consumers with inboxes) and drives them. */
export async function runSaga(ctx: ProcessContext): Promise<void> {
  const { config, log } = ctx;
  const wired = wireProcess(ctx, "saga");
  const { db } = wired;
  const sagas = wired.sagas();
  const sagaChannel = `${config.notifyChannel}_sagas`;
  const broker = connectBroker(config.amqpUrls, log, `${ctx.app.name}-saga`);
  const registry = new Registry();
  const liveness = createLiveness({ stallMs: config.stall.afterMs });
  new Gauge({
    name: "eventline_sagas",
    help: "Saga instances by status",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      const rows = await db.readSql<
        { status: string; n: number }[]
      >`select status, count(*)::int as n from eventline_saga_instances group by status`;
      for (const r of rows) this.set({ status: r.status }, r.n);
    },
  });
  // Saga instances live beside the starter's inbox, so starting one commits with consuming its event.
  const starters = processConsumers(ctx, {
    defs: sagas.filter((saga) => saga.start).map((saga) => sagaStarter(saga, sagaChannel)),
    sql: db.readSql,
    store: wired.store,
    broker,
    registry,
    liveness,
    prepare: wired.prepareSealed,
  });
  const worker = createSagaWorker({
    sql: db.readSql,
    sagas,
    log,
    notifyChannel: sagaChannel,
    leaseMs: config.sagaLeaseMs,
    concurrency: config.sagaConcurrency,
    liveness,
    afterAction: crashAfterStep(ctx),
  });
  const probe = serveProbe(ctx, config.sagaMetricsPort, registry, liveness);
  // Registered before starting, so a stop requested during start-up is still a graceful one.
  onShutdown(log, async () => {
    for (const s of starters) await s.stop();
    await worker.stop();
    await broker.close();
    await probe.stop();
    await wired.end();
  });
  // The worker first: instances already in the table must move on even while the starters are still
  // catching up or waiting for the broker.
  await worker.start();
  await startConsumers(starters);
}
