import type { AmqpConnectionManager, ChannelWrapper } from "amqp-connection-manager";
import type { Channel, ConsumeMessage } from "amqplib";
import { type Backoff, backoffDelay } from "../core/backoff.ts";
import { errorMessage } from "../core/errors.ts";
import type { Logger } from "../log.ts";

export type SubscriptionOptions = {
  /** Names the channel in logs and in the broker's view. */
  name: string;
  queue: string;
  prefetch: number;
  /** Declares what the subscription needs (queues, bindings); runs on every channel before consuming. */
  setup: (channel: Channel) => Promise<void>;
  /**
   * Each delivery, with the channel it came on: its ack or nack must go to that channel, since a delivery
   * tag means nothing on any other and RabbitMQ closes a channel that acks a tag it never gave.
   */
  onMessage: (msg: ConsumeMessage, channel: Channel) => void;
  log: Logger;
  /** The wait before a lost subscription is made again (default 500 ms doubling to 10 s). */
  retry?: Backoff;
};

export type QueueSubscription = {
  /** Resolves once the first consumer is on the queue. */
  ready: Promise<void>;
  /** Stops deliveries, keeping the channel open for the acks of messages in hand. */
  cancel(): Promise<void>;
  close(): Promise<void>;
};

/**
 * A consumer on a queue that outlives whatever takes it away. amqp-connection-manager re-subscribes after
 * a lost connection, but not after the broker closes just the channel (an ack on the wrong channel, a
 * quorum queue without a leader) or cancels the consumer (a queue deleted or moved): then the connection
 * is still up and nothing would make the channel again. Here every such loss makes a new channel, with
 * backoff, unless the connection manager has already set one up again by itself.
 */
export function subscribeToQueue(broker: AmqpConnectionManager, options: SubscriptionOptions): QueueSubscription {
  const { name, queue, log } = options;
  const retry = options.retry ?? { baseMs: 500, maxMs: 10_000 };
  let wrapper: ChannelWrapper;
  let live: { channel: Channel; consumerTag: string } | undefined;
  let stopped = false;
  let losses = 0;
  let renewal: ReturnType<typeof setTimeout> | undefined;

  function lost(from: ChannelWrapper, channel: Channel, why: string) {
    if (live?.channel === channel) live = undefined;
    if (stopped || from !== wrapper || renewal) return;
    losses += 1;
    const delayMs = backoffDelay(losses, retry);
    log("warn", "broker subscription lost; making it again", { channel: name, queue, reason: why, delayMs: Math.round(delayMs) });
    renewal = setTimeout(() => {
      renewal = undefined;
      // Reconnected meanwhile: the connection manager ran the setup on a new channel already.
      if (stopped || live) return;
      const old = wrapper;
      open();
      void old.close().catch(() => {});
    }, delayMs);
  }

  let started: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    started = resolve;
  });

  function open(): void {
    // A wrapper replaced or stopped while it was making its channel must not consume on it: nothing would
    // cancel that consumer or close that channel. So at each step it checks, and closes the channel.
    const abandoned = async (channel: Channel) => {
      if (w === wrapper && !stopped) return false;
      await channel.close().catch(() => {});
      return true;
    };
    const w: ChannelWrapper = broker.createChannel({
      name,
      setup: async (channel: Channel) => {
        if (await abandoned(channel)) return;
        channel.on("error", (error) => log("warn", "broker closed a channel", { channel: name, error: errorMessage(error) }));
        channel.on("close", () => lost(w, channel, "the channel closed"));
        try {
          await options.setup(channel);
          await channel.prefetch(options.prefetch);
          if (await abandoned(channel)) return;
          const { consumerTag } = await channel.consume(queue, (msg) => {
            if (msg) options.onMessage(msg, channel);
            else lost(w, channel, "the broker cancelled the consumer");
          });
          if (await abandoned(channel)) return;
          live = { channel, consumerTag };
          losses = 0;
          started();
        } catch (error) {
          lost(w, channel, errorMessage(error));
        }
      },
    });
    // The manager reports a channel it could not make here; unheard, it would be an unhandled error.
    w.on("error", (error) => log("warn", "broker channel failed", { channel: name, error: errorMessage(error) }));
    wrapper = w;
  }

  open();
  return {
    ready,
    async cancel() {
      stopped = true;
      clearTimeout(renewal);
      if (live) await live.channel.cancel(live.consumerTag).catch(() => {});
    },
    async close() {
      stopped = true;
      clearTimeout(renewal);
      await wrapper.close();
    },
  };
}
