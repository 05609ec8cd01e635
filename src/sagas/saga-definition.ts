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

export type SagaDefinition<D> = {
  type: string;
  steps: SagaStep<D>[];
  /** Attempts per compensation before the instance needs an operator (default 5). */
  maxCompensationAttempts?: number;
  retry?: { baseMs: number; maxMs: number };
};

export type SagaStatus = "running" | "completed" | "compensating" | "compensated" | "needs_attention";
