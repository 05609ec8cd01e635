import amqp, { type AmqpConnectionManager } from "amqp-connection-manager";
import type { Logger } from "../log.ts";

/**
 * A broker connection that reconnects by itself (amqp-connection-manager), so a RabbitMQ restart is a
 * pause for the processes, not a crash. Channels made from it re-run their setup after each reconnect.
 */
export function connectBroker(url: string, log: Logger, name = "eventline"): AmqpConnectionManager {
  const manager = amqp.connect([url], {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    connectionOptions: { clientProperties: { connection_name: name } },
  });
  manager.on("connect", () => log("info", "broker connected"));
  manager.on("disconnect", ({ err }) => log("warn", "broker disconnected", { error: String(err?.message ?? err) }));
  manager.on("connectFailed", ({ err }) => log("warn", "broker connection failed", { error: String(err?.message ?? err) }));
  return manager;
}
