import type { ChannelModel, GetMessage } from "amqplib";
import { queueNames } from "./topology.ts";

export type DeadLetter = {
  messageId: string;
  routingKey: string;
  streamId?: string;
  version?: number;
  type?: string;
  reason: string;
  attempts: number;
  deadAt?: string;
};

function describe(m: GetMessage): DeadLetter {
  const h = m.properties.headers ?? {};
  return {
    messageId: String(m.properties.messageId ?? ""),
    routingKey: String(h["x-original-routing-key"] ?? m.fields.routingKey),
    streamId: typeof h["x-stream-id"] === "string" ? h["x-stream-id"] : undefined,
    version: typeof h["x-stream-version"] === "number" ? h["x-stream-version"] : undefined,
    type: m.properties.type,
    reason: String(h["x-dead-reason"] ?? "unknown"),
    attempts: Number(h["x-attempts"] ?? 0),
    deadAt: typeof h["x-dead-at"] === "string" ? h["x-dead-at"] : undefined,
  };
}

/** Reads every message of a queue without consuming it (all are put back when the channel closes). */
async function peekAll(conn: ChannelModel, queue: string, limit: number) {
  const ch = await conn.createConfirmChannel();
  const messages: GetMessage[] = [];
  for (let m = await ch.get(queue); m && messages.length < limit; m = await ch.get(queue)) messages.push(m);
  return { ch, messages };
}

/** How many dead letters a consumer has (0 when its queues do not exist yet). */
export async function countDeadLetters(conn: ChannelModel, consumer: string, prefix?: string): Promise<number> {
  const ch = await conn.createChannel();
  // A missing queue closes the channel with an error; it simply holds nothing yet.
  ch.on("error", () => {});
  try {
    return (await ch.checkQueue(queueNames(consumer, prefix).dead)).messageCount;
  } catch {
    return 0;
  } finally {
    await ch.close().catch(() => {});
  }
}

/** The dead letters of a consumer, oldest first; nothing is removed. */
export async function listDeadLetters(
  conn: ChannelModel,
  consumer: string,
  prefix?: string,
  limit = 1000,
): Promise<DeadLetter[]> {
  const { ch, messages } = await peekAll(conn, queueNames(consumer, prefix).dead, limit);
  await ch.close();
  return messages.map(describe);
}

/**
 * Sends dead letters (all, or those with the given message ids) back to the consumer's queue with a
 * fresh attempt count. Each is removed from the dead letters only once the broker confirmed the resend.
 */
export async function replayDeadLetters(
  conn: ChannelModel,
  consumer: string,
  messageIds?: string[],
  prefix?: string,
  onProgress?: (done: number, total: number) => void,
): Promise<number> {
  const q = queueNames(consumer, prefix);
  const { ch, messages } = await peekAll(conn, q.dead, 100_000);
  const total = messageIds ? messages.filter((m) => messageIds.includes(String(m.properties.messageId))).length : messages.length;
  let replayed = 0;
  try {
    for (const m of messages) {
      if (messageIds && !messageIds.includes(String(m.properties.messageId))) continue;
      const {
        "x-attempts": _a,
        "x-dead-reason": _r,
        "x-dead-at": _d,
        "x-last-error": _l,
        ...headers
      } = m.properties.headers ?? {};
      ch.sendToQueue(q.main, m.content, { ...m.properties, headers: { ...headers, "x-replayed-at": new Date().toISOString() } });
      await ch.waitForConfirms();
      ch.ack(m);
      replayed++;
      onProgress?.(replayed, total);
    }
  } finally {
    await ch.close();
  }
  return replayed;
}

/** Drops all dead letters of a consumer; returns how many there were. */
export async function purgeDeadLetters(conn: ChannelModel, consumer: string, prefix?: string): Promise<number> {
  const ch = await conn.createChannel();
  try {
    return (await ch.purgeQueue(queueNames(consumer, prefix).dead)).messageCount;
  } finally {
    await ch.close();
  }
}
