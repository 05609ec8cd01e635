import { processConsumers } from "./process-consumers.ts";
import { Registry } from "prom-client";
import { startConsumers } from "../consumers/consumer-runtime.ts";
import { createLiveness } from "../core/liveness.ts";
import { connectBroker } from "../broker/amqp-connection.ts";
import type { ConsumerDefinition } from "../consumers/consumer-definition.ts";
import type { RecordedEvent } from "../core/messages.ts";
import { horizonGauge } from "./horizon-gauge.ts";
import { onShutdown, type ProcessContext, serveProbe, wireProcess } from "./process-kit.ts";

/** With the fault `consumer-hold-delivery`, every delivery waits 2 s before it is applied. */
function holdingDeliveries(ctx: ProcessContext, prepare?: (events: RecordedEvent[]) => Promise<RecordedEvent[]>) {
  if (ctx.config.fault !== "consumer-hold-delivery") return prepare;
  return async (events: RecordedEvent[]) => {
    ctx.log("warn", "fault injected: holding a delivery for 2 s");
    await new Promise((r) => setTimeout(r, 2_000));
    return prepare ? prepare(events) : events;
  };
}

/** A consumer process: one read model by name, or `all` of them (handy locally; deploy one per process). */
export async function runConsumers(ctx: ProcessContext, which: string | undefined): Promise<void> {
  const { config, log } = ctx;
  const names = (ctx.app.readModels ?? []).map((d: ConsumerDefinition) => d.name);
  if (!which || (which !== "all" && !names.includes(which))) {
    process.stderr.write(`usage: consumer <${[...names, "all"].join("|")}>\n`);
    process.exit(2);
  }
  const wired = wireProcess(ctx, `consumer-${which}`);
  const { db } = wired;
  const defs = which === "all" ? wired.readModels : wired.readModels.filter((d) => d.name === which);
  const broker = connectBroker(config.amqpUrls, log, `${ctx.app.name}-consumer-${which}`);
  const registry = new Registry();
  const liveness = createLiveness({ stallMs: config.stall.afterMs });
  horizonGauge(registry, db.sql);
  const consumers = processConsumers(ctx, {
    defs,
    sql: db.readSql,
    store: wired.store,
    broker,
    registry,
    liveness,
    prepare: holdingDeliveries(ctx, wired.prepare),
  });
  const probe = serveProbe(ctx, config.consumer.metricsPort, registry, liveness);
  // Registered before starting, so a stop requested during start-up is still a graceful one.
  onShutdown(log, async () => {
    for (const c of consumers) await c.stop();
    await broker.close();
    await probe.stop();
    await wired.end();
  });
  await startConsumers(consumers);
}
