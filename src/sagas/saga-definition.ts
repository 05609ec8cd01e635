import type { Event, RecordedEvent } from "../core/messages.ts";
import type { TraceCarrier } from "../core/telemetry.ts";
import type { Logger } from "../log.ts";

/** What a step's action or compensation gets: its saga's data and a key that is the same on every retry. */
export type StepContext<D> = {
  sagaId: string;
  data: D;
  step: string;
  /** Derived from the saga and the step: pass it on so a retried step cannot act twice. */
  idempotencyKey: string;
  /** The key the step's action used (the same as `idempotencyKey` there): a compensation looks its effect up by it. */
  actionKey: string;
  attempt: number;
  /** Why the saga is compensating, when it is. */
  failure?: string;
  /** Aborted at the step's deadline: pass it to whatever the step waits on (fetch, a gateway). */
  signal: AbortSignal;
  log: Logger;
  /** The step's span as W3C trace context: put it in the metadata of what the step appends or sends. */
  trace?: TraceCarrier;
};

/**
 * One step: an action, and optionally what undoes it. A DomainError from the action is a business failure
 * (compensate now); any other error is retried with backoff. Compensations must be idempotent.
 */
export type SagaStep<D> = {
  name: string;
  action: (ctx: StepContext<D>) => Promise<void>;
  compensate?: (ctx: StepContext<D>) => Promise<void>;
  /** A step not done within this time is aborted and counts as failed once it settles (default 10 s). */
  deadlineMs?: number;
  /**
   * How long an aborted step may take to settle (default: its deadline). One still running then is
   * retried under the same idempotency key rather than compensated, since its effect is not known yet.
   */
  graceMs?: number;
  /** Attempts before a transiently failing step counts as failed (default 5). */
  maxAttempts?: number;
};

/** The instance an event starts: its id (a redelivered event finds it and starts nothing) and its data. */
export type SagaStart<D> = { sagaId: string; data: D };

export type SagaDefinition<D> = {
  type: string;
  steps: SagaStep<D>[];
  /**
   * The events that start an instance, bound like a read model's: the saga process runs a consumer named
   * after the saga's type that starts the instance in the same transaction as its inbox row.
   */
  start?: { bindings: string[]; on: Record<string, (event: RecordedEvent) => SagaStart<D> | undefined> };
  /** Attempts per compensation before the instance needs an operator (default 5). */
  maxCompensationAttempts?: number;
  retry?: { baseMs: number; maxMs: number };
};

export type SagaStatus = "running" | "completed" | "compensating" | "compensated" | "needs_attention";

/** A saga whose starters are keyed by the event types of `E`, each given that event's own type. */
export type TypedSagaDefinition<E extends Event, D> = Omit<SagaDefinition<D>, "start"> & {
  start?: {
    bindings: string[];
    on: { [K in E["type"]]?: (event: RecordedEvent<Extract<E, { type: K }>>) => SagaStart<D> | undefined };
  };
};

/** Types a saga's starters by the events it starts from: `defineSaga<InvoiceEvent>()<InvoiceData>({ type, steps, start })`. */
export function defineSaga<E extends Event>() {
  return <D>(definition: TypedSagaDefinition<E, D>): SagaDefinition<D> => definition as SagaDefinition<D>;
}
