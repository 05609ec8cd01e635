import type { AmqpConnectionManager, ChannelWrapper } from "amqp-connection-manager";
import type { Channel, ConsumeMessage } from "amqplib";

import type { Sql } from "postgres";
import { type Checkpoint, type EventStore, START } from "../core/event-store.ts";
import type { RecordedEvent } from "../core/messages.ts";
import { eventLogFields } from "../core/event-log-fields.ts";
import type { Logger } from "../log.ts";
import { applyEventBatch } from "./apply-batch.ts";
import { applyEvent } from "./apply-event.ts";
import { loadCheckpoint, type PoisonPolicy, sweep } from "./catch-up.ts";
import { toEventMessage } from "../broker/event-message.ts";
import { type QueueSubscription, subscribeToQueue } from "../broker/queue-subscription.ts";
import { backoffDelay } from "../core/backoff.ts";
import { errorMessage } from "../core/errors.ts";
import { createTimerSleeper, runWorkerLoop } from "../core/worker-loop.ts";
import { contextFromHeaders, inSpan, type Link, linkTo, markFailed, type Span, SpanKind } from "../core/telemetry.ts";
import { type Liveness, untracked } from "../core/liveness.ts";
import { assertConsumerDefinition, type ConsumerDefinition, liveTables } from "./consumer-definition.ts";
import type { ConsumerMetrics } from "./consumer-metrics.ts";
import { ensureReadModel } from "./ensure-read-model.ts";
import { auditReadModel, type MissingEvent, type UnknownVersion } from "./audit.ts";
import { parseDelivery } from "./parse-delivery.ts";
import { pruneInbox } from "./prune-inbox.ts";
import { declareConsumerTopology, type QueueType, queueNames } from "./topology.ts";

export type ConsumerOptions = {
  def: ConsumerDefinition;
  /** Where the read model, inbox and checkpoints live (READ_DATABASE_URL). */
  sql: Sql;
  store: EventStore;
  broker: AmqpConnectionManager;
  exchange: string;
  log: Logger;
  prefetch?: number;
  maxAttempts?: number;
  retry?: { baseMs: number; maxMs: number };
  queueType?: QueueType;
  /** Queue names are `<prefix>.<consumer>` (default `eventline`). */
  queuePrefix?: string;
  /** How often the log is swept for events the broker did not deliver, and how old they must be. */
  sweep?: { everyMs: number; graceMs: number };
  /**
   * The consumer's own audit (see auditReadModel), every `everyMs` (default 30 s) beside the sweep: events
   * older than `lagMs` (default 60 s) not applied are counted in eventline_consumer_missing_events.
   */
  audit?: { lagMs?: number; everyMs?: number };
  /** Inbox rows older than this are deleted in batches (default 7 days); 0 keeps them for ever. */
  inboxRetentionMs?: number;
  /**
   * Turns a delivered envelope into what handlers see (open personal fields, upcast). Needed when the
   * store holds personal data: deliveries and the sweep then carry the sealed form, and only handlers
   * see it opened.
   */
  prepare?: (events: RecordedEvent[]) => Promise<RecordedEvent[]>;
  metrics?: ConsumerMetrics;
  /**
   * Told when deliveries wait and when events are applied (`consumer <name>`), and how the sweep moves
   * (`sweep <name>`), so a consumer that stopped applying reports not-live.
   */
  liveness?: Liveness;
  /** Called after a delivered event was applied (for measurements). */
  onApplied?: (event: RecordedEvent) => void;
};

/** A message in hand, with the channel its ack goes to. */
type Delivery = { msg: ConsumeMessage; event: RecordedEvent; ch: Channel };

export type Consumer = {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Replays from the checkpoint until nothing is left: at start, and on demand. */
  catchUp(): Promise<number>;
};

/**
 * Starts a process's consumers at once. Each declares its queues as it starts, then catches up from the
 * store; one after another, a long catch-up of the first would leave the others' queues undeclared, and
 * the events published for them meanwhile would come back unroutable and spend the relay's attempts.
 */
export async function startConsumers(consumers: Consumer[]): Promise<void> {
  await Promise.all(consumers.map((c) => c.start()));
}

/** A consumer process's engine: queue per consumer, inbox dedupe, ordered apply, retries and dead letters. */
export function createConsumer(options: ConsumerOptions): Consumer {
  const { def, sql, store, broker, log } = options;
  assertConsumerDefinition(def);
  const tables = liveTables(def);
  const q = queueNames(def.name, options.queuePrefix);
  // Both channels declare the same topology, so whichever connects first makes the queues exist.
  const topology = {
    consumer: def.name,
    exchange: options.exchange,
    bindings: def.bindings,
    queueType: options.queueType ?? ("classic" as const),
    prefix: options.queuePrefix,
  };
  const maxAttempts = options.maxAttempts ?? 5;
  const retry = options.retry ?? { baseMs: 200, maxMs: 30_000 };
  const sweepOptions = options.sweep ?? { everyMs: 1_000, graceMs: 5_000 };
  const deps = { sql, store, def, tables, prepare: options.prepare };
  const labels = { consumer: def.name };
  const processAttributes = {
    "messaging.system": "rabbitmq",
    "messaging.operation.type": "process",
    "messaging.destination.name": q.main,
    "messaging.consumer.group.name": def.name,
  };
  const inFlight = new Set<Promise<void>>();
  let subscription: QueueSubscription | undefined;
  let publisher: ChannelWrapper | undefined;
  const sweepSleeper = createTimerSleeper();
  let sweeping: Promise<unknown> | undefined;
  let running = false;
  const retentionMs = options.inboxRetentionMs ?? 7 * 24 * 3600 * 1000;
  const applying = options.liveness?.track(`consumer ${def.name}`) ?? untracked;
  const sweepWork = options.liveness?.track(`sweep ${def.name}`) ?? untracked;
  let lastPrune = 0;
  const auditEveryMs = options.audit?.everyMs ?? 30_000;
  let lastAudit = Date.now();
  let audited: {
    tail?: Checkpoint;
    rescan: Checkpoint;
    missing: Map<string, MissingEvent>;
    unknown: Map<string, UnknownVersion>;
  } = { rescan: START, missing: new Map(), unknown: new Map() };
  const found = (r: { missing: Map<string, MissingEvent>; unknown: Map<string, UnknownVersion> }) => ({
    missing: r.missing,
    unknown: r.unknown,
  });

  async function sendTo(queue: string, msg: ConsumeMessage, headers: Record<string, unknown>, expiration?: number) {
    await publisher?.sendToQueue(queue, msg.content, {
      ...msg.properties,
      persistent: true,
      expiration: expiration === undefined ? undefined : String(Math.round(expiration)),
      headers: {
        ...msg.properties.headers,
        "x-original-routing-key": msg.properties.headers?.["x-original-routing-key"] ?? msg.fields.routingKey,
        ...headers,
      },
    });
  }

  /** The headers a dead letter carries, whether it came from a delivery or from the catch-up sweep. */
  const deadLetterHeaders = (reason: string, attempts: number) => ({
    "x-dead-reason": reason,
    "x-attempts": attempts,
    "x-dead-at": new Date().toISOString(),
  });

  async function deadLetter(msg: ConsumeMessage, reason: string, attempts: number) {
    await sendTo(q.dead, msg, deadLetterHeaders(reason, attempts));
    options.metrics?.deadLettered.inc(labels);
    log("error", "message dead-lettered", { consumer: def.name, messageId: msg.properties.messageId, reason, attempts });
  }

  /** Metrics, the onApplied hook and the debug log for an event that was applied or found a duplicate. */
  function settled(event: RecordedEvent, status: "applied" | "duplicate", gapFilled: number) {
    applying.progressed();
    if (status === "applied") options.onApplied?.(event);
    if (status === "duplicate") options.metrics?.duplicates.inc(labels);
    else options.metrics?.applied.inc(labels, 1 + gapFilled);
    if (gapFilled) options.metrics?.gapFilled.inc(labels, gapFilled);
    log("debug", `event ${status}`, { consumer: def.name, ...eventLogFields(event) });
  }

  // Deliveries that arrive while a batch is being applied wait here and go together in the next one.
  const waiting: Delivery[] = [];
  // Whether a delivery since the last drain failed (and went to the retry queue): work is still owed.
  let failedSinceDrain = false;
  let draining: Promise<void> | undefined;
  const maxBatch = options.prefetch ?? 64;

  function receive(msg: ConsumeMessage, ch: Channel) {
    const parsed = parseDelivery(msg);
    if (!parsed.ok) {
      track(handle(ch, msg));
      return;
    }
    waiting.push({ msg, event: parsed.event, ch });
    applying.waiting();
    if (!draining) {
      draining = drain().finally(() => {
        draining = undefined;
      });
      track(draining);
    }
  }

  /**
   * Settles a delivery on the channel it came on. One for a channel that is gone is dropped: the broker
   * gives its unsettled messages again, and the inbox keeps each applied once.
   */
  function acknowledge(ch: Channel, msg: ConsumeMessage, how: "ack" | "requeue" = "ack") {
    try {
      if (how === "ack") ch.ack(msg);
      else ch.nack(msg, false, true);
    } catch (error) {
      log("debug", "delivery not settled: its channel is gone, so the broker will give it again", {
        consumer: def.name,
        error: errorMessage(error),
      });
    }
  }

  function track(work: Promise<void>) {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }

  async function drain() {
    while (waiting.length > 0) await applyDeliveries(waiting.splice(0, maxBatch));
    // Everything in hand applied: nothing is waiting on this consumer's deliveries any more (the sweep
    // answers for the store).
    if (!failedSinceDrain) applying.idle();
    failedSinceDrain = false;
  }

  /**
   * One transaction for the whole batch. What it cannot settle (a gap in a stream, or any failure, which
   * rolls the batch back) goes through `handle` one message at a time, with its own retries and dead letters.
   */
  async function applyDeliveries(batch: Delivery[]) {
    let outcomes: Awaited<ReturnType<typeof applyEventBatch>> | undefined;
    let events: RecordedEvent[] = [];
    // One span for the batch, linked to every message's trace; a batch of one is also that trace's child.
    const links = batch.map((d) => linkTo(d.msg.properties.headers)).filter((l): l is Link => l !== undefined);
    try {
      await inSpan(
        `process ${def.name}`,
        {
          kind: SpanKind.CONSUMER,
          parent: contextFromHeaders(batch.length === 1 ? batch[0]?.msg.properties.headers : undefined),
          links,
          attributes: { ...processAttributes, "messaging.batch.message_count": batch.length },
        },
        async () => {
          events = options.prepare ? await options.prepare(batch.map((d) => d.event)) : batch.map((d) => d.event);
          outcomes = await applyEventBatch(deps, events);
        },
      );
    } catch (error) {
      log("debug", "batch apply failed; applying its messages one by one", { consumer: def.name, error: String(error) });
    }
    for (const [i, d] of batch.entries()) {
      const outcome = outcomes?.[i];
      if (outcome === "applied" || outcome === "duplicate") {
        settled(events[i] as RecordedEvent, outcome, 0);
        acknowledge(d.ch, d.msg);
      } else {
        await handle(d.ch, d.msg);
      }
    }
  }

  /** One message on its own (a gap to fill, a retry, a batch that failed), in a span of its trace. */
  function handle(ch: Channel, msg: ConsumeMessage): Promise<void> {
    return inSpan(
      `process ${def.name}`,
      {
        kind: SpanKind.CONSUMER,
        parent: contextFromHeaders(msg.properties.headers),
        attributes: { ...processAttributes, "messaging.message.id": String(msg.properties.messageId ?? "") },
      },
      (span) => handleOne(ch, msg, span),
    );
  }

  async function handleOne(ch: Channel, msg: ConsumeMessage, span: Span): Promise<void> {
    try {
      const parsed = parseDelivery(msg);
      if (!parsed.ok) {
        await deadLetter(msg, parsed.reason, 0);
        acknowledge(ch, msg);
        return;
      }
      const ids = { consumer: def.name, ...eventLogFields(parsed.event) };
      try {
        // Inside the retry path: an event that cannot be prepared (its fields cannot be opened, say) is
        // retried and then dead-lettered like one whose handler fails, never requeued for ever.
        const [event] = options.prepare ? await options.prepare([parsed.event]) : [parsed.event];
        const outcome = await applyEvent(deps, event as RecordedEvent);
        settled(event as RecordedEvent, outcome.status, outcome.gapFilled);
      } catch (error) {
        const attempts = Number(msg.properties.headers?.["x-attempts"] ?? 0) + 1;
        const reason = errorMessage(error);
        failedSinceDrain = true;
        markFailed(span, reason);
        if (attempts >= maxAttempts) {
          await deadLetter(msg, reason, attempts);
        } else {
          const delay = backoffDelay(attempts, retry);
          await sendTo(q.retry, msg, { "x-attempts": attempts, "x-last-error": reason }, delay);
          options.metrics?.retried.inc(labels);
          log("warn", "handler failed, retrying later", { ...ids, attempts, error: reason, delayMs: Math.round(delay) });
        }
      }
      acknowledge(ch, msg);
    } catch (error) {
      // Could not even park the message (broker trouble): give it back to the queue rather than lose it.
      log("warn", "delivery returned to the queue", { consumer: def.name, error: String(error) });
      acknowledge(ch, msg, "requeue");
    }
  }

  const poison: PoisonPolicy = {
    maxAttempts,
    failures: new Map(),
    deadLetter: async (event, reason) => {
      const m = toEventMessage(event);
      await publisher?.sendToQueue(q.dead, m.content, {
        ...m.options,
        headers: {
          ...m.options.headers,
          "x-original-routing-key": m.routingKey,
          ...deadLetterHeaders(reason, maxAttempts),
        },
      });
      options.metrics?.deadLettered.inc(labels);
      log("error", "event dead-lettered during catch-up", {
        consumer: def.name,
        eventId: event.eventId,
        streamId: event.streamId,
        reason,
      });
    },
  };

  async function catchUp(): Promise<number> {
    let total = 0;
    for (;;) {
      const r = await sweep(deps, { graceMs: 0, poison });
      total += r.applied;
      if (r.caughtUp) return total;
      const failed = r.failed;
      if (failed)
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(poison.failures.get(failed.eventId) ?? 1, retry)));
    }
  }

  /** Every `everyMs`: the sweep, and at most once a minute the inbox retention beside it. */
  async function sweepRound(): Promise<"idle"> {
    let r: Awaited<ReturnType<typeof sweep>>;
    try {
      r = await sweep(deps, { graceMs: sweepOptions.graceMs, poison });
    } catch (error) {
      // A sweep that cannot run cannot tell whether the log is ahead: it owes a round.
      sweepWork.waiting();
      throw error;
    }
    if (r.caughtUp) {
      // The store says nothing is left to apply: neither the sweep nor the deliveries are behind.
      sweepWork.idle();
      if (waiting.length === 0 && inFlight.size === 0) applying.idle();
    } else {
      sweepWork.waiting();
      // Moving, or held only by events young enough for their messages to be on the way.
      if (r.applied > 0 || r.oldestUnapplied || r.checkpoint.position !== r.from.position) sweepWork.progressed();
    }
    if (r.applied > 0)
      log("warn", "sweep applied events the broker had not delivered", { consumer: def.name, applied: r.applied });
    if (Date.now() - lastAudit > auditEveryMs) {
      lastAudit = Date.now();
      await auditRound().catch((error) => log("warn", "audit failed", { consumer: def.name, error: errorMessage(error) }));
    }
    if (retentionMs > 0 && Date.now() - lastPrune > 60_000) {
      lastPrune = Date.now();
      const pruned = await pruneInbox(sql, { olderThanMs: retentionMs });
      if (pruned > 0) log("info", "old inbox rows removed", { consumer: def.name, pruned });
    }
    return "idle";
  }

  /**
   * The audit in two walks, each bounded per round so a long log never holds the sweep up: one follows
   * the log's new events as they pass the allowed lag (for up to 2 s a round, enough to keep up with
   * thousands of events a second), the other goes over the whole log again and again
   * (an event removed from the read model after it was first audited is found on its next pass). What
   * they found still missing is checked again every round.
   */
  async function auditRound() {
    const before = audited.missing.size;
    const lagMs = options.audit?.lagMs ?? 60_000;
    const auditDeps = { store, sql, def };
    // The new events start where the sweep stood at start-up; what came before is the rescan's.
    audited.tail ??= await loadCheckpoint(sql, def.name);
    const fresh = await auditReadModel(auditDeps, { lagMs, after: audited.tail, ...found(audited), budgetMs: 2_000 });
    const again = await auditReadModel(auditDeps, { lagMs, after: audited.rescan, ...found(fresh), maxBatches: 2 });
    audited = { tail: fresh.checkpoint, rescan: again.complete ? START : again.checkpoint, ...found(again) };
    options.metrics?.missingEvents.set(labels, audited.missing.size);
    options.metrics?.unknownVersions.set(labels, audited.unknown.size);
    if (audited.missing.size > before)
      log("error", "audit: events older than the allowed lag are not applied", {
        consumer: def.name,
        missing: audited.missing.size,
        first: [...audited.missing.values()].slice(0, 5).map((m) => `${m.streamId}@${m.version}`),
      });
    for (const u of audited.unknown.values())
      log("error", "audit: the read model claims a stream version the store does not have", { consumer: def.name, ...u });
  }

  function startSweeping() {
    sweeping = (async () => {
      // The first sweep waits its interval: start() has just caught up.
      await sweepSleeper.sleep(sweepOptions.everyMs);
      await runWorkerLoop({
        running: () => running,
        sleeper: sweepSleeper,
        idleMs: sweepOptions.everyMs,
        backoff: { baseMs: sweepOptions.everyMs, maxMs: Math.max(sweepOptions.everyMs, 10_000) },
        round: sweepRound,
        onFailure: (error) => log("warn", "sweep failed", { consumer: def.name, error: errorMessage(error) }),
      });
    })();
  }

  return {
    catchUp,
    async start() {
      running = true;
      await ensureReadModel(sql, def);
      publisher = broker.createChannel({
        name: `${def.name}-publisher`,
        confirm: true,
        publishTimeout: 10_000,
        setup: (ch: Channel) => declareConsumerTopology(ch, topology),
      });
      try {
        const caughtUp = await catchUp();
        log("info", "consumer caught up from the store", { consumer: def.name, applied: caughtUp });
      } catch (error) {
        // Not fatal: the sweep below walks the same log every second and finishes the catch-up.
        log("warn", "catch-up at start failed; the sweep will finish it", { consumer: def.name, error: String(error) });
      }
      // The sweep first: with the broker down it still applies the log from the store, so a consumer
      // started during a broker outage is not idle until the broker comes back.
      startSweeping();
      subscription = subscribeToQueue(broker, {
        name: `${def.name}-consumer`,
        queue: q.main,
        prefetch: maxBatch,
        setup: (ch) => declareConsumerTopology(ch, topology),
        onMessage: receive,
        log,
      });
      await subscription.ready;
      log("info", "consumer started", { consumer: def.name, queue: q.main, bindings: def.bindings });
    },
    async stop() {
      running = false;
      sweepSleeper.wake();
      // Stop deliveries first, then let the messages in hand finish and be acked.
      await subscription?.cancel();
      // Messages in hand get 10 s to finish. One that does not was never acked, so the broker delivers it
      // again and the inbox keeps it single: waiting longer would only push past the shutdown deadline.
      const finished = await Promise.race([
        Promise.all([...inFlight, sweeping]).then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000)),
      ]);
      if (!finished)
        log("warn", "stopping with messages still in hand; they will be redelivered", {
          consumer: def.name,
          inFlight: inFlight.size,
        });
      // A channel the broker already dropped cannot be closed cleanly; nothing is lost by that.
      for (const ch of [subscription, publisher]) {
        await ch?.close().catch((error) => log("warn", "closing a channel failed", { consumer: def.name, error: String(error) }));
      }
      log("info", "consumer stopped", { consumer: def.name });
    },
  };
}
