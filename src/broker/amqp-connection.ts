import amqp, { type AmqpConnectionManager } from "amqp-connection-manager";
import amqplib from "amqplib";
import { errorMessage } from "../core/errors.ts";
import type { Logger } from "../log.ts";

/**
 * A broker connection that reconnects by itself (amqp-connection-manager), so a RabbitMQ restart is a
 * pause for the processes, not a crash. Channels made from it re-run their setup after each reconnect.
 * Given a cluster's nodes, it connects to the first that answers and, when that one goes, to the next.
 */
export function connectBroker(urls: string | string[], log: Logger, name = "eventline"): AmqpConnectionManager {
  const manager = amqp.connect(typeof urls === "string" ? [urls] : urls, {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    connectionOptions: { clientProperties: { connection_name: name } },
  });
  manager.on("connect", ({ url }) => log("info", "broker connected", { node: nodeOf(url) }));
  manager.on("disconnect", ({ err }) => log("warn", "broker disconnected", { error: errorMessage(err) }));
  manager.on("connectFailed", ({ err }) => log("warn", "broker connection failed", { error: errorMessage(err) }));
  return manager;
}

/** host:port of a broker URL, for logs (never its credentials). */
function nodeOf(url: unknown): string {
  try {
    const u = new URL(typeof url === "string" ? url : String((url as { url?: string })?.url ?? ""));
    return u.host;
  } catch {
    return "unknown";
  }
}

/**
 * Runs `work` on a plain connection opened for it and closed after (operator commands, probes), on the
 * first of the nodes that accepts one.
 */
export async function withBrokerConnection<T>(
  urls: string | string[],
  work: (conn: amqplib.ChannelModel) => Promise<T>,
): Promise<T> {
  const conn = await connectToFirst(typeof urls === "string" ? [urls] : urls);
  try {
    return await work(conn);
  } finally {
    await conn.close();
  }
}

async function connectToFirst(urls: string[]): Promise<amqplib.ChannelModel> {
  let lastError: unknown = new Error("no broker URL given");
  for (const url of urls) {
    try {
      return await amqplib.connect(url);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
