import amqp, { type AmqpConnectionManager } from "amqp-connection-manager";
import amqplib from "amqplib";
import { errorMessage } from "../core/errors.ts";
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
  manager.on("disconnect", ({ err }) => log("warn", "broker disconnected", { error: errorMessage(err) }));
  manager.on("connectFailed", ({ err }) => log("warn", "broker connection failed", { error: errorMessage(err) }));
  return manager;
}

/** Runs `work` on a plain connection opened for it and closed after (operator commands, probes). */
export async function withBrokerConnection<T>(url: string, work: (conn: amqplib.ChannelModel) => Promise<T>): Promise<T> {
  const conn = await amqplib.connect(url);
  try {
    return await work(conn);
  } finally {
    await conn.close();
  }
}
