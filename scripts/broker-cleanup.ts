import amqp from "amqplib";
import { queueNames } from "../src/consumers/topology.ts";

/**
 * Deletes the queues of the given consumers (main, retry, dead) and the given exchanges. Tests and the
 * chaos run call it so that durable queues do not pile up in the broker across runs.
 */
export async function deleteBrokerObjects(url: string, options: { consumers: string[]; prefix?: string; exchanges?: string[] }) {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    for (const consumer of options.consumers) {
      for (const queue of Object.values(queueNames(consumer, options.prefix))) await ch.deleteQueue(queue);
    }
    for (const exchange of options.exchanges ?? []) await ch.deleteExchange(exchange);
    await ch.close();
  } finally {
    await conn.close();
  }
}
