import type { Channel } from "amqplib";

export type QueueType = "classic" | "quorum";

/** A consumer's queues. The prefix keeps deployments (or test runs) that share a broker apart. */
export function queueNames(consumer: string, prefix = "eventline") {
  return { main: `${prefix}.${consumer}`, retry: `${prefix}.${consumer}.retry`, dead: `${prefix}.${consumer}.dead` };
}

/**
 * Declares the consumer's queues: the main queue bound to the events exchange; a retry queue whose
 * expired messages dead-letter back into the main queue (a delay that blocks nothing else); and the
 * dead-letter queue where messages wait for an operator.
 */
export async function declareConsumerTopology(
  ch: Channel,
  options: { consumer: string; exchange: string; bindings: string[]; queueType: QueueType; prefix?: string },
): Promise<void> {
  const q = queueNames(options.consumer, options.prefix);
  const args = { "x-queue-type": options.queueType };
  await ch.assertExchange(options.exchange, "topic", { durable: true });
  await ch.assertQueue(q.main, { durable: true, arguments: args });
  await ch.assertQueue(q.retry, {
    durable: true,
    arguments: { ...args, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q.main },
  });
  await ch.assertQueue(q.dead, { durable: true, arguments: args });
  for (const key of options.bindings) await ch.bindQueue(q.main, options.exchange, key);
}
