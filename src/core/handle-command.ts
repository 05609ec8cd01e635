import { backoffDelay } from "./backoff.ts";
import type { Decider } from "./decider.ts";
import { deterministicId } from "./deterministic-id.ts";
import { appendResult } from "./event-pipeline.ts";
import type { KeyedMutex } from "./keyed-mutex.ts";
import { ConcurrencyError } from "./errors.ts";
import type { EventStore, IdempotencyRequest } from "./event-store.ts";
import { assertExpectedVersion, type ExpectedVersion } from "./expected-version.ts";
import { loadState } from "./load-state.ts";
import type { Command, Event, EventMetadata, RecordedEvent } from "./messages.ts";
import { carrierOf, contextFrom, inSpan, type TraceContext } from "./telemetry.ts";

export type CommandResult = { streamId: string; version: number; position: number; events: RecordedEvent[] };

export type HandleCommandOptions<S = unknown> = {
  /**
   * Called with the loaded state before anything else is checked or decided; throw to refuse (an
   * authorization rule that needs the state, such as who owns it).
   */
  guard?: (state: S) => void;
  /** The caller's own expectation (e.g. from If-Match). When given, a conflict is never retried. */
  expectedVersion?: ExpectedVersion;
  /** Attempts on a version conflict when the expectation is ours, not the caller's (default 10): a busy stream written from several processes can make one lose several races in a row. */
  maxAttempts?: number;
  metadata?: Partial<EventMetadata>;
  /** The trace the command's span continues (the request's span); else the one `metadata` names. */
  traceContext?: TraceContext;
  /** Derives the event ids from this key, so running the same command again appends nothing. */
  idempotencyKey?: string;
  /** Records the caller's answer under an idempotency key in the append's transaction. */
  idempotency?: IdempotencyRequest;
  /** Subjects forgotten in the append's transaction (see AppendOptions). */
  forgetSubjects?: string[];
  /** Serialises commands per stream within this process (see createKeyedMutex). */
  serialize?: KeyedMutex;
  /** Called when writing a snapshot fails: the command still succeeded, the snapshot is only a cache. */
  onSnapshotError?: (error: unknown) => void;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Loads the stream's state, asks the decider for events and appends them expecting the version it
 * loaded. On a conflict it reloads and decides again, a bounded number of times with jittered backoff.
 */
export async function handleCommand<C extends Command, E extends Event, S>(
  store: EventStore,
  decider: Decider<C, E, S>,
  streamId: string,
  command: C,
  options: HandleCommandOptions<S> = {},
): Promise<CommandResult> {
  if (options.serialize) {
    const { serialize, ...rest } = options;
    return serialize.run(streamId, () => handleCommand(store, decider, streamId, command, rest));
  }
  // The command's span continues the trace its metadata names (the request's, a saga step's); the events
  // then carry the command's span on, so what publishes and applies them joins the same trace.
  return inSpan(
    `command ${command.type}`,
    {
      // Else the active context: a command inside an app's own span nests under it.
      parent: options.traceContext ?? (options.metadata?.traceparent ? contextFrom(options.metadata) : undefined),
      attributes: { "eventline.command.type": command.type, "eventline.stream.id": streamId },
    },
    async (span, ctx) => {
      const metadata = { ...options.metadata, ...carrierOf(ctx) };
      const result = await decideAndAppend(store, decider, streamId, command, { ...options, metadata }, (attempt) => {
        span.addEvent("version conflict: loading and deciding again", { "eventline.command.attempt": attempt });
      });
      span.setAttributes({ "eventline.events.count": result.events.length, "eventline.stream.version": result.version });
      return result;
    },
  );
}

async function decideAndAppend<C extends Command, E extends Event, S>(
  store: EventStore,
  decider: Decider<C, E, S>,
  streamId: string,
  command: C,
  options: HandleCommandOptions<S>,
  onConflict: (attempt: number) => void,
): Promise<CommandResult> {
  const maxAttempts = options.expectedVersion === undefined ? (options.maxAttempts ?? 10) : 1;
  if (options.idempotencyKey) {
    // The guard sees the state before an earlier answer is handed back, so a replay never passes it by.
    if (options.guard) options.guard((await loadState(store, decider, streamId)).state);
    const earlier = await store.findEvents(await idsFor(options.idempotencyKey, 32));
    const last = earlier[earlier.length - 1];
    if (last) return appendResult(last.streamId, earlier);
  }
  for (let attempt = 1; ; attempt++) {
    const loaded = await loadState(store, decider, streamId);
    options.guard?.(loaded.state);
    if (options.expectedVersion !== undefined && options.expectedVersion !== "any") {
      // Check before deciding, so a stale If-Match is a conflict rather than a domain error.
      assertExpectedVersion(streamId, options.expectedVersion, loaded.version);
    }
    const events = decider.decide(command, loaded.state);
    if (events.length === 0) return { streamId, version: loaded.version, position: 0, events: [] };
    const ids = options.idempotencyKey ? await idsFor(options.idempotencyKey, events.length) : [];
    try {
      const result = await store.appendToStream(
        streamId,
        events.map((e, i) => ({ ...e, eventId: ids[i], metadata: options.metadata })),
        {
          expectedVersion: loaded.version === 0 ? "no_stream" : loaded.version,
          idempotency: options.idempotency,
          forgetSubjects: options.forgetSubjects,
        },
      );
      // A snapshot is state in clear: none is written by the command that forgets its subject.
      if (!options.forgetSubjects?.length)
        await maybeSnapshot(store, decider, streamId, loaded, events, result.version, options.onSnapshotError);
      return result;
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || attempt >= maxAttempts) throw error;
      onConflict(attempt);
      await sleep(backoffDelay(attempt, { baseMs: 10, maxMs: 200 }));
    }
  }
}

async function idsFor(key: string, count: number): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => deterministicId(`${key}#${i}`)));
}

async function maybeSnapshot<C extends Command, E extends Event, S>(
  store: EventStore,
  decider: Decider<C, E, S>,
  streamId: string,
  loaded: { state: S; version: number },
  events: E[],
  newVersion: number,
  onError: (error: unknown) => void = (e) => console.error("snapshot failed", e),
): Promise<void> {
  const policy = decider.snapshot;
  if (!policy || Math.floor(newVersion / policy.every) === Math.floor(loaded.version / policy.every)) return;
  const state = events.reduce(decider.evolve, loaded.state);
  try {
    await store.saveSnapshot({ streamId, version: newVersion, schemaVersion: policy.schemaVersion, state });
  } catch (error) {
    onError(error);
  }
}
