import type { AmqpConnectionManager, ChannelWrapper } from "amqp-connection-manager";
import type { ConfirmChannel } from "amqplib";
import type { Sql } from "postgres";
import { type EventMessage, routingKeyOf, toEventMessage } from "../broker/event-message.ts";
import { backoffDelay } from "../core/backoff.ts";
import { errorMessage } from "../core/errors.ts";
import { runWorkerLoop } from "../core/worker-loop.ts";
import { contextFrom, headersFor, inSpan, markFailed, SpanKind } from "../core/telemetry.ts";
import type { RecordedEvent } from "../core/messages.ts";
import { eventLogFields } from "../core/event-log-fields.ts";
import type { Logger } from "../log.ts";
import { listenForWakeups, type Wakeup } from "../store/wakeup.ts";
import { claimBatch, deletePublished, type Failure, lockPartitions, oldestDueRow, recordFailures } from "./outbox-queries.ts";
import type { RelayMetrics } from "./relay-metrics.ts";
import { type Liveness, untracked, type WorkTracker } from "../core/liveness.ts";

export type RelayOptions = {
  sql: Sql;
  broker: AmqpConnectionManager;
  log: Logger;
  exchange: string;
  notifyChannel: string;
  partitions: number;
  /**
   * Loops over disjoint sets of partitions, each with its own transaction: while one waits for confirms
   * another claims, deletes and commits, so neither Postgres nor the broker sits idle between batches.
   */
  lanes?: number;
  batchSize: number;
  maxAttempts: number;
  /** Longest sleep between checks when no NOTIFY arrives. */
  pollMs: number;
  confirmTimeoutMs?: number;
  backoff?: { baseMs: number; maxMs: number };
  metrics?: RelayMetrics;
  /** Told when rows wait and when they are published, so a relay that stopped moving reports not-live. */
  liveness?: Liveness;
  /** Fault injection for tests: runs after the broker confirmed a batch, before the rows are deleted. */
  afterConfirm?: () => void | Promise<void>;
};

export type Relay = {
  start(): Promise<void>;
  /** Stops claiming, lets the batch in flight finish its confirms, and resolves when the loop has ended. */
  stop(): Promise<void>;
  /** One claim-publish-confirm round; the number of rows it handled. */
  runBatch(): Promise<number>;
};

/** A lane's liveness, and the oldest due row it saw while the broker refused it. */
type Lane = { work: WorkTracker; oldestDue?: number };

/**
 * A failed publish is the message's fault only when the broker returned it as unroutable. A nack (RabbitMQ
 * sends one for its own internal trouble: a quorum queue without a leader, a full queue rejecting
 * publishes), a timeout, a lost connection or a blocked one (a resource alarm) is the broker's state: the
 * row stays due, no attempt is spent, and the lane backs off instead.
 */
type Outcome = { ok: true; position: number } | { ok: false; position: number; error: string; brokerFault: boolean };

/** Publishes the outbox to the events exchange, at least once, in stream order, with publisher confirms. */
export function createRelay(options: RelayOptions): Relay {
  // Checked before anything is opened, so a bad setting leaves no channel behind.
  const laneCount = options.lanes ?? 2;
  if (!Number.isInteger(laneCount) || laneCount < 1 || laneCount > options.partitions) {
    throw new RangeError(`relay lanes must be a whole number from 1 to the partitions (${options.partitions}), got ${laneCount}`);
  }
  const { sql, broker, log, exchange, metrics } = options;
  // Only ids being published are remembered, so a late return cannot make the set grow.
  const inFlight = new Set<string>();
  const returned = new Set<string>();
  let blocked = false;
  broker.on("blocked", ({ reason }) => {
    blocked = true;
    log("warn", "broker blocked publishing (resource alarm); the outbox waits", { reason });
  });
  broker.on("unblocked", () => {
    blocked = false;
    log("info", "broker unblocked publishing");
  });
  broker.on("connect", () => {
    blocked = false;
  });
  const channel: ChannelWrapper = broker.createChannel({
    name: "relay",
    confirm: true,
    publishTimeout: options.confirmTimeoutMs ?? 10_000,
    setup: async (ch: ConfirmChannel) => {
      await ch.assertExchange(exchange, "topic", { durable: true });
      // With `mandatory`, an unroutable message comes back (before its ack); it must not count as delivered.
      ch.on("return", (msg) => {
        const id = msg.properties.messageId;
        if (typeof id === "string" && inFlight.has(id)) returned.add(id);
      });
    },
  });

  /** Publishes one row in a producer span that continues the trace its command started. */
  function publishOne(row: RecordedEvent): Promise<Outcome> {
    const routingKey = routingKeyOf(row);
    return inSpan(
      `publish ${exchange}`,
      {
        kind: SpanKind.PRODUCER,
        parent: contextFrom(row.metadata),
        attributes: {
          "messaging.system": "rabbitmq",
          "messaging.operation.type": "send",
          "messaging.operation.name": "publish",
          "messaging.destination.name": exchange,
          "messaging.rabbitmq.destination.routing_key": routingKey,
          "messaging.message.id": row.eventId,
        },
      },
      async (span, ctx) => {
        const outcome = await confirmOne(row, toEventMessage(row, headersFor(ctx)));
        if (!outcome.ok) markFailed(span, outcome.error);
        return outcome;
      },
    );
  }

  async function confirmOne(row: RecordedEvent, message: EventMessage): Promise<Outcome> {
    const started = performance.now();
    inFlight.add(row.eventId);
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
        return { ok: false, position: row.position, error: `unroutable: ${message.routingKey}`, brokerFault: false };
      }
      log("debug", "event published", { ...eventLogFields(row), routingKey: message.routingKey, position: row.position });
      return { ok: true, position: row.position };
    } catch (error) {
      return { ok: false, position: row.position, error: errorMessage(error), brokerFault: true };
    } finally {
      inFlight.delete(row.eventId);
      returned.delete(row.eventId);
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

  const allPartitions = Array.from({ length: options.partitions }, (_, p) => p);
  // A stream's partition belongs to one lane, so its rows still go out one after another.
  const lanePartitions = Array.from({ length: laneCount }, (_, lane) => allPartitions.filter((p) => p % laneCount === lane));

  /** One round; `brokerFault` says the broker, not a message, kept some rows from going out. */
  async function runRound(
    candidates: number[],
    lane: Lane = { work: untracked },
  ): Promise<{ handled: number; brokerFault: boolean }> {
    const none = { handled: 0, brokerFault: false };
    const { work } = lane;
    if (!broker.isConnected() || blocked) {
      // Rows waiting behind a broker that does not take them are a stall, not an idle relay; rows that
      // another relay publishes meanwhile (the oldest due one moves) are progress.
      const oldest = await oldestDueRow(sql, options.partitions, candidates);
      if (oldest === undefined) work.idle();
      else {
        work.waiting();
        if (oldest !== lane.oldestDue) work.progressed();
      }
      lane.oldestDue = oldest;
      return { handled: 0, brokerFault: true };
    }
    return sql.begin(async (tx) => {
      const owned = await lockPartitions(tx, candidates);
      if (owned.length === 0) {
        work.idle();
        return none;
      }
      const rows = await claimBatch(tx, options.partitions, owned, options.batchSize);
      if (rows.length === 0) {
        work.idle();
        return none;
      }
      work.waiting();
      const byStream = new Map<string, RecordedEvent[]>();
      for (const row of rows) {
        const list = byStream.get(row.streamId) ?? [];
        list.push(row);
        byStream.set(row.streamId, list);
      }
      const outcomes = (await Promise.all([...byStream.values()].map(publishStream))).flat();
      await options.afterConfirm?.();
      const published = outcomes.filter((o) => o.ok).map((o) => o.position);
      const failures: Failure[] = outcomes.flatMap((o) =>
        !o.ok && !o.brokerFault ? [{ position: o.position, error: o.error }] : [],
      );
      await deletePublished(tx, published);
      if (published.length > 0) work.progressed();
      const parked = await recordFailures(tx, failures, options.maxAttempts, options.backoff ?? { baseMs: 200, maxMs: 60_000 });
      metrics?.published.inc(published.length);
      metrics?.failed.inc(outcomes.length - published.length);
      for (const streamId of parked) {
        metrics?.parked.inc();
        log("error", "stream parked after repeated publish failures", { streamId, attempts: options.maxAttempts });
      }
      for (const f of failures) log("warn", "publish failed, will retry", { position: f.position, error: f.error });
      return { handled: rows.length, brokerFault: outcomes.some((o) => !o.ok && o.brokerFault) };
    });
  }

  const runBatch = async (candidates: number[] = allPartitions) => (await runRound(candidates)).handled;

  let running = false;
  let loops: Promise<void>[] = [];
  let wakeups: Wakeup[] = [];

  function runLoop(partitions: number[], wakeup: Wakeup, work: WorkTracker): Promise<void> {
    let brokerTroubleInARow = 0;
    const lane: Lane = { work };
    return runWorkerLoop({
      running: () => running,
      sleeper: wakeup,
      idleMs: options.pollMs,
      async round() {
        const round = await runRound(partitions, lane);
        if (round.brokerFault) {
          // Waiting out the broker's trouble; an unblock or reconnect is noticed within the capped wait.
          brokerTroubleInARow++;
          return { waitMs: backoffDelay(brokerTroubleInARow, { baseMs: 100, maxMs: 2_000 }) };
        }
        brokerTroubleInARow = 0;
        // A full batch means a backlog: drain it without sleeping.
        return round.handled >= options.batchSize ? "more" : "idle";
      },
      onFailure(error, failuresInARow, delayMs) {
        // A hiccup is a warning; a relay that keeps failing publishes nothing, which is an error.
        log(failuresInARow >= 5 ? "error" : "warn", "relay batch failed, backing off", {
          error: errorMessage(error),
          failuresInARow,
          delayMs: Math.round(delayMs),
        });
      },
    });
  }

  return {
    runBatch: () => runBatch(),
    async start() {
      if (running) return;
      running = true;
      wakeups = await Promise.all(lanePartitions.map(() => listenForWakeups(sql, options.notifyChannel)));
      loops = lanePartitions.map((partitions, lane) =>
        runLoop(partitions, wakeups[lane] as Wakeup, options.liveness?.track(`relay lane ${lane}`) ?? untracked),
      );
      log("info", "relay started", {
        exchange,
        partitions: options.partitions,
        lanes: laneCount,
        batchSize: options.batchSize,
      });
    },
    async stop() {
      running = false;
      for (const w of wakeups) w.wake();
      await Promise.all(loops);
      await Promise.all(wakeups.map((w) => w.close()));
      await channel.close();
      log("info", "relay stopped");
    },
  };
}
