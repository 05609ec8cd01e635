/**
 * `eventline`: the runtime-agnostic core. Messages, deciders and command handling, errors, upcasters,
 * personal data, and the definitions an app is made of. Nothing here touches a database or a runtime.
 */

/** Message, Event, Command, the recorded envelope and the metadata every event carries. */
export type { Command, Event, EventMetadata, Message, NewEvent, RecordedEvent } from "./core/messages.ts";
/** A stream's category: its id before the first `-`, the first word of its routing key. */
export { streamCategory } from "./core/messages.ts";
/** A pure decider: decide(command, state) → events, evolve(state, event) → state. */
export type { Decider, SnapshotPolicy } from "./core/decider.ts";
/** The event store's contract, which the Postgres and in-memory stores both keep. */
export type {
  AppendOptions,
  AppendRequest,
  AppendResult,
  Checkpoint,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  Snapshot,
} from "./core/event-store.ts";
/** `no_stream`, `stream_exists`, `any` or a version number. */
export type { ExpectedVersion } from "./core/expected-version.ts";
/** Load, decide, append, retrying on a version conflict: one command against one stream. */
export { handleCommand, type CommandResult, type HandleCommandOptions } from "./core/handle-command.ts";
/** A stream's state folded from its events (and snapshot), as of now or of a version or time. */
export { loadState, type AsOf, type LoadedState } from "./core/load-state.ts";
/** Runs work one at a time per key in this process (pass it to handleCommand as `serialize`). */
export { createKeyedMutex, type KeyedMutex } from "./core/keyed-mutex.ts";
/** The errors eventline throws and maps to HTTP statuses; throw DomainError for a business rule. */
export {
  AuthenticationError,
  ConcurrencyError,
  ConfigError,
  DomainError,
  EventlineError,
  ForbiddenError,
  IdempotencyError,
  IdempotencyKeyTaken,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
} from "./core/errors.ts";
/** Upgrades stored events of an older schema version as they are read; new events get the newest version. */
export { Upcasters, type Upcaster } from "./core/upcasters.ts";
/** Which fields of which events are personal data, sealed per subject and forgotten by deleting a key. */
export { REDACTED, type KeyStore, type PersonalDataPolicy, type PersonalDataRule } from "./core/personal-data.ts";
/** Time-ordered UUIDs for ids users make up front. */
export { uuidV7 } from "./core/uuid-v7.ts";
/** The same UUID for the same name: ids derived from a key, stable across retries. */
export { deterministicId } from "./core/deterministic-id.ts";
/** A read model typed by its events and tables; its handlers run in the consumer's transaction. */
export {
  defineReadModel,
  type BatchHandlerContext,
  type ConsumerDefinition,
  type EventHandler,
  type HandlerContext,
  type ReadModelDefinition,
} from "./consumers/consumer-definition.ts";
/** A saga: steps with compensations, started by the events named in `start`. */
export {
  defineSaga,
  type SagaDefinition,
  type SagaStart,
  type SagaStatus,
  type SagaStep,
  type StepContext,
  type TypedSagaDefinition,
} from "./sagas/saga-definition.ts";
/** An application: its name, store policies, services, routes, read models, sagas and own commands. */
export {
  defineApp,
  type AppCommand,
  type AppContext,
  type AppDefinition,
  type CommandContext,
  type ServicesContext,
} from "./processes/define-app.ts";
/** eventline's structured logger, as every factory receives it. */
export type { Logger } from "./log.ts";
/** Spans through the OpenTelemetry API, and W3C trace context to and from event metadata or headers. */
export { carrierOf, contextFrom, inSpan, traceIdOf, type TraceCarrier, type TraceContext } from "./core/telemetry.ts";
