import amqp, { type ConfirmChannel } from "amqplib";
import { toEventMessage } from "../../src/broker/event-message.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import type { ConsumerDefinition } from "../../src/consumers/consumer-definition.ts";
import { amqpUrl } from "./amqp.ts";

/** Switch to make the tally handler fail on events whose data has `boom: true`. */
export const faults = { boom: true };

/**
 * A read model that sums `n` per stream. Its handler refuses an event that is not the next version of
 * its stream, so any out-of-order or double application makes a test fail loudly.
 */
export function tallyConsumer(name = `tally_${crypto.randomUUID().slice(0, 8)}`): ConsumerDefinition {
  return {
    name,
    bindings: ["tick.#"],
    tables: {
      [name]: (t) =>
        `create table ${t} (stream_id text primary key, total int not null, events int not null, last_version int not null)`,
    },
    handlers: {
      Ticked: async ({ tx, tables, event }) => {
        const data = event.data as { n: number; boom?: boolean };
        if (data.boom && faults.boom) throw new Error("the handler blew up");
        const [row] = await tx<{ last_version: number }[]>`
          select last_version from ${tx(tables[name] as string)} where stream_id = ${event.streamId}`;
        if ((row?.last_version ?? 0) !== event.version - 1) {
          throw new Error(`applied v${event.version} after v${row?.last_version ?? 0}`);
        }
        await tx`
          insert into ${tx(tables[name] as string)} (stream_id, total, events, last_version)
          values (${event.streamId}, ${data.n}, 1, ${event.version})
          on conflict (stream_id) do update set total = ${tx(tables[name] as string)}.total + ${data.n},
            events = ${tx(tables[name] as string)}.events + 1, last_version = ${event.version}`;
      },
    },
  };
}

/** Plays the relay's part by hand, so tests can send duplicates, reorder, or drop messages. */
export async function createPublisher(exchange: string, url = amqpUrl()) {
  const conn = await amqp.connect(url);
  const ch: ConfirmChannel = await conn.createConfirmChannel();
  await ch.assertExchange(exchange, "topic", { durable: true });
  return {
    async publish(...events: RecordedEvent[]) {
      for (const e of events) {
        const m = toEventMessage(e);
        ch.publish(exchange, m.routingKey, m.content, { ...m.options, mandatory: false });
      }
      await ch.waitForConfirms();
    },
    async raw(routingKey: string, content: Buffer, options: amqp.Options.Publish) {
      ch.publish(exchange, routingKey, content, options);
      await ch.waitForConfirms();
    },
    async close() {
      await conn.close();
    },
  };
}
