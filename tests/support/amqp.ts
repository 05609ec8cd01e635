import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from "amqplib";

export function amqpUrl(): string {
  const url = process.env.AMQP_URL;
  if (!url) throw new Error("AMQP_URL is not set: the test preload should have started RabbitMQ");
  return url;
}

export type Received = { messageId: string; routingKey: string; streamId: string; version: number; message: ConsumeMessage };

/**
 * An independent consumer: a durable queue bound to the exchange, so messages survive a broker restart.
 * `reconnect()` picks the queue up again after one.
 */
export async function createCollector(
  exchange: string,
  bindingKey = "#",
  options: { url?: string; queueType?: "classic" | "quorum" } = {},
) {
  const queue = `test.collector.${crypto.randomUUID().slice(0, 8)}`;
  const received: Received[] = [];
  let conn: ChannelModel | undefined;
  let ch: Channel | undefined;

  async function attach() {
    conn = await amqp.connect(options.url ?? amqpUrl());
    conn.on("error", () => {});
    ch = await conn.createChannel();
    await ch.assertExchange(exchange, "topic", { durable: true });
    await ch.assertQueue(queue, { durable: true, arguments: { "x-queue-type": options.queueType ?? "classic" } });
    await ch.bindQueue(queue, exchange, bindingKey);
    await ch.consume(queue, (m) => {
      if (!m) return;
      received.push({
        messageId: String(m.properties.messageId),
        routingKey: m.fields.routingKey,
        streamId: String(m.properties.headers?.["x-stream-id"]),
        version: Number(m.properties.headers?.["x-stream-version"]),
        message: m,
      });
      ch?.ack(m);
    });
  }
  await attach();

  return {
    received,
    queue,
    async bind(key: string) {
      await ch?.bindQueue(queue, exchange, key);
    },
    async reconnect() {
      await attach();
    },
    /** Resolves once `predicate` holds, or fails after `ms`. */
    async until(predicate: () => boolean, ms = 15_000) {
      const deadline = Date.now() + ms;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`collector timed out with ${received.length} messages`);
        await Bun.sleep(20);
      }
    },
    async close() {
      try {
        await ch?.deleteQueue(queue);
        await conn?.close();
      } catch {
        // the broker may be gone already (a restart test); nothing is left to clean then
      }
    },
  };
}

/** Per stream, the versions in the order they arrived. */
export function versionsByStream(received: Received[]): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const r of received) map.set(r.streamId, [...(map.get(r.streamId) ?? []), r.version]);
  return map;
}
