import { Registry } from "prom-client";
import { createLiveness } from "../core/liveness.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { connectBroker } from "../broker/amqp-connection.ts";
import { outboxStatus } from "../outbox/outbox-queries.ts";
import { createRelay } from "../outbox/relay.ts";
import { createRelayMetrics } from "../outbox/relay-metrics.ts";
import { connect } from "../store/connect.ts";
import { onShutdown, type ProcessContext, serveProbe, sessionTimeouts } from "./process-kit.ts";

/** Fault points for the failure tests: die, or hold a confirmed batch in flight, between confirms and delete. */
function faultAfterConfirm(config: Config, log: Logger): (() => Promise<void>) | undefined {
  if (config.fault === "relay-crash-after-confirm")
    return async () => {
      log("warn", "fault injected: crashing after confirm, before marking rows");
      process.kill(process.pid, "SIGKILL");
    };
  if (config.fault === "relay-hold-after-confirm")
    return async () => {
      log("warn", "fault injected: holding a confirmed batch for 2 s");
      await new Promise((r) => setTimeout(r, 2_000));
    };
  return undefined;
}

/** The relay process: publishes the outbox, serves /health and /metrics on RELAY_METRICS_PORT. */
export async function runRelay(ctx: ProcessContext): Promise<void> {
  const { config, log } = ctx;
  // One connection per lane's transaction and one for the metrics' outbox queries; postgres.js gives LISTEN
  // a connection of its own, outside this pool.
  const sql = connect(config.databaseUrl, {
    max: config.relay.lanes + 1,
    applicationName: "eventline-relay",
    schema: config.databaseSchema,
    timeouts: sessionTimeouts(config, "relay"),
  });
  const broker = connectBroker(config.amqpUrls, log, "eventline-relay");
  const registry = new Registry();
  const liveness = createLiveness({ stallMs: config.stall.afterMs });
  const metrics = createRelayMetrics(registry, () => outboxStatus(sql).then((s) => ({ ...s, parkedStreams: s.parked.length })));
  const relay = createRelay({
    sql,
    broker,
    log,
    metrics,
    liveness,
    exchange: config.eventsExchange,
    notifyChannel: config.notifyChannel,
    ...config.relay,
    afterConfirm: faultAfterConfirm(config, log),
  });
  const probe = serveProbe(ctx, config.relay.metricsPort, registry, liveness);
  // Registered before starting, so a stop requested during start-up is still a graceful one.
  onShutdown(log, async () => {
    await relay.stop();
    await broker.close();
    await probe.stop();
    await sql.end({ timeout: 5 });
  });
  await relay.start();
}
