import type { AmqpConnectionManager, ChannelWrapper } from "amqp-connection-manager";
import type { ConfirmChannel } from "amqplib";
import type { Sql } from "postgres";
import { toEventMessage } from "../broker/event-message.ts";
import type { RecordedEvent } from "../core/messages.ts";
import { eventLogFields } from "../core/trace.ts";
import type { Logger } from "../log.ts";
import { listenForWakeups, type Wakeup } from "../store/wakeup.ts";
import { claimBatch, deletePublished, type Failure, lockPartitions, recordFailures } from "./outbox-queries.ts";
import type { RelayMetrics } from "./relay-metrics.ts";

export type RelayOptions = {
  sql: Sql;
  broker: AmqpConnectionManager;
  log: Logger;
  exchange: string;
  notifyChannel: string;
  partitions: number;
  batchSize: number;
  maxAttempts: number;
  /** Longest sleep between checks when no NOTIFY arrives. */
  pollMs: number;
  confirmTimeoutMs?: number;
  backoff?: { baseMs: number; maxMs: number };
  metrics?: RelayMetrics;
  /** Fault injection for tests: runs after the broker confirmed a batch, before the rows are deleted. */
  afterConfirm?: () => void;
};

export type Relay = {
  start(): Promise<void>;
  /** Stops claiming, lets the batch in flight finish its confirms, and resolves when the loop has ended. */
  stop(): Promise<void>;
  /** One claim-publish-confirm round; the number of rows it handled. */
  runBatch(): Promise<number>;
};

type Outcome = { ok: true; position: number } | { ok: false; position: number; error: string; connectionLost: boolean };

/** Publishes the outbox to the events exchange, at least once, in stream order, with publisher confirms. */
export function createRelay(options: RelayOptions): Relay {
  const { sql, broker, log, exchange, metrics } = options;
  const returned = new Set<string>();
  let disconnects = 0;
  broker.on("disconnect", () => disconnects++);
  const channel: ChannelWrapper = broker.createChannel({
    name: "relay",
    confirm: true,
    publishTimeout: options.confirmTimeoutMs ?? 10_000,
    setup: async (ch: ConfirmChannel) => {
      await ch.assertExchange(exchange, "topic", { durable: true });
      // With `mandatory`, an unroutable message comes back (before its ack); it must not count as delivered.
      ch.on("return", (msg) => {
        const id = msg.properties.messageId;
        if (typeof id === "string") returned.add(id);
      });
    },
  });

  async function publishOne(row: RecordedEvent): Promise<Outcome> {
    const message = toEventMessage(row);
    const started = performance.now();
    const disconnectsBefore = disconnects;
    try {
      await channel.publish(exchange, message.routingKey, message.content, message.options);
      metrics?.confirmSeconds.observe((performance.now() - started) / 1000);
      if (returned.delete(row.eventId)) {
        metrics?.returned.inc();
        log("warn", "event returned unroutable: no queue is bound for its routing key", {
          eventId: row.eventId,
          streamId: row.streamId,
          routingKey: message.routingKey,
        });
        return { ok: false, position: row.position, error: `unroutable: ${message.routingKey}`, connectionLost: false };
      }
      log("debug", "event published", { ...eventLogFields(row), routingKey: message.routingKey, position: row.position });
      return { ok: true, position: row.position };
    } catch (error) {
      const connectionLost = disconnects !== disconnectsBefore || !broker.isConnected();
      return { ok: false, position: row.position, error: String((error as Error)?.message ?? error), connectionLost };
    }
  }

  /** A stream's rows go one after another: version n+1 is sent only once n is confirmed. */
  async function publishStream(rows: RecordedEvent[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const row of rows) {
      const outcome = await publishOne(row);
      outcomes.push(outcome);
      if (!outcome.ok) break;
    }
    return outcomes;
  }

  async function runBatch(): Promise<number> {
    if (!broker.isConnected()) return 0;
    return sql.begin(async (tx) => {
      const owned = await lockPartitions(tx, options.partitions);
      if (owned.length === 0) return 0;
      const rows = await claimBatch(tx, options.partitions, owned, options.batchSize);
      if (rows.length === 0) return 0;
      const byStream = new Map<string, RecordedEvent[]>();
      for (const row of rows) {
        const list = byStream.get(row.streamId) ?? [];
        list.push(row);
        byStream.set(row.streamId, list);
      }
      const outcomes = (await Promise.all([...byStream.values()].map(publishStream))).flat();
      options.afterConfirm?.();
      const published = outcomes.filter((o) => o.ok).map((o) => o.position);
      // A lost connection is nobody's fault: the rows stay due without spending an attempt.
      const failures: Failure[] = outcomes.flatMap((o) =>
        !o.ok && !o.connectionLost ? [{ position: o.position, error: o.error }] : [],
      );
      await deletePublished(tx, published);
      const parked = await recordFailures(tx, failures, options.maxAttempts, options.backoff ?? { baseMs: 200, maxMs: 60_000 });
      metrics?.published.inc(published.length);
      metrics?.failed.inc(outcomes.length - published.length);
      for (const streamId of parked) {
        metrics?.parked.inc();
        log("error", "stream parked after repeated publish failures", { streamId, attempts: options.maxAttempts });
      }
      for (const f of failures) log("warn", "publish failed, will retry", { position: f.position, error: f.error });
      return rows.length;
    });
  }

  let running = false;
  let loop: Promise<void> | undefined;
  let wakeup: Wakeup | undefined;

  async function runLoop(): Promise<void> {
    let failuresInARow = 0;
    while (running) {
      try {
        wakeup?.beginRound();
        const handled = await runBatch();
        failuresInARow = 0;
        if (handled >= options.batchSize || wakeup?.notifiedSince()) continue; // a backlog: drain it without sleeping
        await wakeup?.sleep(broker.isConnected() ? options.pollMs : 250);
      } catch (error) {
        failuresInARow++;
        const delay = Math.min(10_000, 100 * 2 ** failuresInARow) * (0.5 + Math.random() / 2);
        // A hiccup is a warning; a relay that keeps failing publishes nothing, which is an error.
        log(failuresInARow >= 5 ? "error" : "warn", "relay batch failed, backing off", {
          error: String((error as Error)?.message ?? error),
          failuresInARow,
          delayMs: Math.round(delay),
        });
        await wakeup?.sleep(delay);
      }
    }
  }

  return {
    runBatch,
    async start() {
      if (running) return;
      running = true;
      wakeup = await listenForWakeups(sql, options.notifyChannel);
      loop = runLoop();
      log("info", "relay started", { exchange, partitions: options.partitions, batchSize: options.batchSize });
    },
    async stop() {
      running = false;
      wakeup?.wake();
      await loop;
      await wakeup?.close();
      await channel.close();
      log("info", "relay stopped");
    },
  };
}
