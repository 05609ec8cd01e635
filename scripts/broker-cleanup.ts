import { withBrokerConnection } from "../src/broker/amqp-connection.ts";
import { queueNames } from "../src/consumers/topology.ts";

/**
 * Deletes the queues of the given consumers (main, retry, dead) and the given exchanges. Tests and the
 * chaos run call it so that durable queues do not pile up in the broker across runs. Given a cluster's
 * nodes, any one that answers does it.
 */
export async function deleteBrokerObjects(
  urls: string | string[],
  options: { consumers: string[]; prefix?: string; exchanges?: string[]; queues?: string[] },
) {
  await withBrokerConnection(urls, async (conn) => {
    const ch = await conn.createChannel();
    for (const consumer of options.consumers) {
      for (const queue of Object.values(queueNames(consumer, options.prefix))) await ch.deleteQueue(queue);
    }
    for (const queue of options.queues ?? []) await ch.deleteQueue(queue);
    for (const exchange of options.exchanges ?? []) await ch.deleteExchange(exchange);
    await ch.close();
  });
}
