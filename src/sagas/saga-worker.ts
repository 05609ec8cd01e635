import type { Sql } from "postgres";
import { backoffDelay } from "../core/backoff.ts";
import { DomainError, errorMessage } from "../core/errors.ts";
import { runWorkerLoop } from "../core/worker-loop.ts";
import { type Liveness, untracked } from "../core/liveness.ts";
import { carrierOf, contextFrom, inSpan, type TraceContext, traceIdOf } from "../core/telemetry.ts";
import type { Logger } from "../log.ts";
import { listenForSlots, type Slot } from "../store/wakeup.ts";
import type { SagaDefinition, SagaStep, StepContext } from "./saga-definition.ts";
import { claimDue, type Progress, recordProgress, type SagaInstance } from "./saga-store.ts";

export type SagaWorkerOptions = {
  sql: Sql;
  // biome-ignore lint/suspicious/noExplicitAny: a worker runs sagas of different data types side by side
  sagas: SagaDefinition<any>[];
  log: Logger;
  notifyChannel: string;
  /** Longest sleep when nothing is due and no NOTIFY arrives. */
  pollMs?: number;
  /** How long a claim lasts; a worker that dies loses it after this (must exceed every step deadline plus its grace). */
  leaseMs?: number;
  /** Told when instances are due and when steps are recorded, so a worker that stopped moving reports not-live. */
  liveness?: Liveness;
  /**
   * How many instances this worker drives at once (default 8): each slot claims its own instance, so one
   * slow step (a provider's answer, a commit's fsync) does not hold every other saga back.
   */
  concurrency?: number;
  /** Fault injection for tests: runs after a step's action succeeded, before its outcome is recorded. */
  afterAction?: (instance: SagaInstance, step: string) => void;
};

export type SagaWorker = { start(): Promise<void>; stop(): Promise<void>; runOnce(): Promise<boolean> };

class DeadlineExceeded extends Error {}

/** The step was aborted at its deadline and had still not settled after its grace time: its effect is unknown. */
class StillRunning extends Error {}

/** Whether `work` settles, either way, within `ms`; it goes on running when it does not. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    late,
  ]).finally(() => clearTimeout(timer));
}

/**
 * Runs a step with an AbortSignal that fires at its deadline. A step past its deadline counts as failed,
 * but only once it has settled: what it started (a charge at a provider, say) must have landed or failed
 * before anything compensates it, or the compensation finds nothing to undo and the effect lands after.
 * A step that ignores the abort gets its grace time more; if it is still running then, its effect is unknown.
 */
async function withDeadline(step: SagaStep<unknown>, run: (signal: AbortSignal) => Promise<void>, what: string): Promise<void> {
  const ms = step.deadlineMs ?? 10_000;
  const controller = new AbortController();
  const work = run(controller.signal);
  if (await settlesWithin(work, ms)) return work;
  const exceeded = new DeadlineExceeded(`${what} did not finish within ${ms} ms`);
  controller.abort(exceeded);
  if (await settlesWithin(work, step.graceMs ?? ms)) throw exceeded;
  throw new StillRunning(`${what} was aborted at ${ms} ms and is still running`);
}

/** A saga whose data carries a correlation id logs under it, and under its step's trace. */
function traceFields(data: unknown, ctx: TraceContext): Record<string, string | undefined> {
  const correlationId = (data as { trace?: { correlationId?: string } } | null)?.trace?.correlationId;
  return { correlationId, traceId: traceIdOf(ctx) };
}

/**
 * Drives saga instances one step at a time. Each step runs outside any transaction under a lease; its
 * outcome is recorded afterwards. A crash between the two makes the step run again, which is why steps
 * pass their idempotency key on: the second run finds the first run's effect and adds nothing.
 */
export function createSagaWorker(options: SagaWorkerOptions): SagaWorker {
  const { sql, log } = options;
  const byType = new Map(options.sagas.map((s) => [s.type, s]));
  const leaseMs = options.leaseMs ?? 60_000;
  const concurrency = options.concurrency ?? 8;
  // Zero slots would run no saga at all, silently.
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TypeError(`saga worker concurrency must be a whole number of at least 1, not ${concurrency}`);
  const trackers = Array.from({ length: concurrency }, (_, i) =>
    options.liveness ? options.liveness.track(concurrency === 1 ? "saga worker" : `saga worker ${i + 1}`) : untracked,
  );

  const backoff = (def: SagaDefinition<unknown>, attempts: number) =>
    backoffDelay(attempts, def.retry ?? { baseMs: 200, maxMs: 30_000 });

  function context(
    instance: SagaInstance,
    step: string,
    phase: string,
    signal: AbortSignal,
    trace: TraceContext,
  ): StepContext<unknown> {
    return {
      signal,
      sagaId: instance.sagaId,
      data: instance.data,
      step,
      idempotencyKey: `saga:${instance.sagaId}:${step}:${phase}`,
      actionKey: `saga:${instance.sagaId}:${step}:do`,
      attempt: instance.attempts + 1,
      failure: instance.failure ?? undefined,
      log: log.child({ sagaId: instance.sagaId, step, ...traceFields(instance.data, trace) }),
      trace: carrierOf(trace),
    };
  }

  /** A step's action or compensation in a span that continues the trace of the event that started the saga. */
  function inStepSpan(instance: SagaInstance, step: string, phase: "do" | "undo", run: (ctx: TraceContext) => Promise<void>) {
    return inSpan(
      `saga ${instance.sagaType} ${phase === "do" ? step : `compensate ${step}`}`,
      {
        parent: contextFrom(instance.trace),
        attributes: {
          "eventline.saga.type": instance.sagaType,
          "eventline.saga.id": instance.sagaId,
          "eventline.saga.step": step,
          "eventline.saga.phase": phase,
          "eventline.saga.attempt": instance.attempts + 1,
        },
      },
      (_span, ctx) => run(ctx),
    );
  }

  /** From a failure at `failedIndex`: that step and every completed one, last first. */
  function compensationsFrom(def: SagaDefinition<unknown>, instance: SagaInstance, failedIndex: number): string[] {
    const names = [...instance.completedSteps, def.steps[failedIndex]?.name as string];
    return names.reverse().filter((n, i, all) => all.indexOf(n) === i && def.steps.find((s) => s.name === n)?.compensate);
  }

  async function runAction(def: SagaDefinition<unknown>, instance: SagaInstance): Promise<Progress> {
    const step = def.steps[instance.currentStep] as SagaStep<unknown>;
    try {
      await inStepSpan(instance, step.name, "do", (ctx) =>
        withDeadline(step, (signal) => step.action(context(instance, step.name, "do", signal, ctx)), `step ${step.name}`),
      );
    } catch (error) {
      const attempts = instance.attempts + 1;
      const business = error instanceof DomainError;
      const timedOut = error instanceof DeadlineExceeded;
      // A step still running is retried under the same idempotency key, which makes its effect known.
      if (!business && !timedOut && attempts < (step.maxAttempts ?? 5)) {
        return {
          attempts,
          delayMs: backoff(def, attempts),
          lastError: errorMessage(error),
          event: { step: step.name, outcome: `retry: ${errorMessage(error)}` },
        };
      }
      const queue = compensationsFrom(def, instance, instance.currentStep);
      return {
        status: queue.length > 0 ? "compensating" : "compensated",
        compensationQueue: queue,
        attempts: 0,
        failure: `${step.name}: ${errorMessage(error)}`,
        lastError: errorMessage(error),
        event: { step: step.name, outcome: `failed: ${errorMessage(error)}` },
      };
    }
    options.afterAction?.(instance, step.name);
    const next = instance.currentStep + 1;
    return {
      status: next >= def.steps.length ? "completed" : "running",
      currentStep: next,
      completedSteps: [...instance.completedSteps, step.name],
      attempts: 0,
      lastError: null,
      event: { step: step.name, outcome: "done" },
    };
  }

  async function runCompensation(def: SagaDefinition<unknown>, instance: SagaInstance): Promise<Progress> {
    const [name, ...rest] = instance.compensationQueue;
    const step = def.steps.find((s) => s.name === name);
    if (!step?.compensate)
      return {
        compensationQueue: rest,
        status: rest.length ? "compensating" : "compensated",
        event: { step: String(name), outcome: "nothing to undo" },
      };
    try {
      const compensate = step.compensate;
      await inStepSpan(instance, step.name, "undo", (ctx) =>
        withDeadline(
          step,
          (signal) => compensate(context(instance, step.name, "undo", signal, ctx)),
          `compensation ${step.name}`,
        ),
      );
    } catch (error) {
      const attempts = instance.attempts + 1;
      if (attempts >= (def.maxCompensationAttempts ?? 5)) {
        log("error", "saga needs attention: a compensation keeps failing", {
          sagaId: instance.sagaId,
          step: step.name,
          error: errorMessage(error),
        });
        return {
          status: "needs_attention",
          attempts,
          lastError: errorMessage(error),
          event: { step: step.name, outcome: `compensation failed: ${errorMessage(error)}` },
        };
      }
      return {
        attempts,
        delayMs: backoff(def, attempts),
        lastError: errorMessage(error),
        event: { step: step.name, outcome: `compensation retry: ${errorMessage(error)}` },
      };
    }
    options.afterAction?.(instance, `${step.name}:undo`);
    return {
      compensationQueue: rest,
      status: rest.length > 0 ? "compensating" : "compensated",
      attempts: 0,
      lastError: null,
      event: { step: step.name, outcome: "compensated" },
    };
  }

  async function runOnce(work = trackers[0] ?? untracked): Promise<boolean> {
    const instance = await claimDue(sql, [...byType.keys()], leaseMs);
    if (!instance) {
      work.idle();
      return false;
    }
    // Claiming is progress: a step then has its deadline and grace to finish (keep EVENTLINE_STALL_SECONDS
    // above the longest), and its outcome recorded is progress again.
    work.waiting();
    work.progressed();
    const def = byType.get(instance.sagaType) as SagaDefinition<unknown>;
    const progress = instance.status === "compensating" ? await runCompensation(def, instance) : await runAction(def, instance);
    const recorded = await recordProgress(sql, instance, progress);
    if (recorded) work.progressed();
    if (!recorded)
      log("warn", "saga lease lost before its outcome was recorded; the step will run again", { sagaId: instance.sagaId });
    else
      log("info", `saga ${progress.event.step} ${progress.event.outcome}`, {
        sagaId: instance.sagaId,
        status: progress.status ?? instance.status,
      });
    return true;
  }

  let running = false;
  let loops: Promise<void>[] = [];
  let listening: Awaited<ReturnType<typeof listenForSlots>> | undefined;

  const runLoop = (sleeper: Slot, work: (typeof trackers)[number]) =>
    runWorkerLoop({
      running: () => running,
      sleeper,
      idleMs: options.pollMs ?? 500,
      round: async () => {
        if (!(await runOnce(work))) return "idle";
        sleeper.passOn();
        return "more";
      },
      onFailure: (error) => log("warn", "saga worker round failed, backing off", { error: errorMessage(error) }),
    });

  return {
    runOnce,
    async start() {
      running = true;
      listening = await listenForSlots(sql, options.notifyChannel, concurrency);
      const sleepers = listening.slots;
      loops = trackers.map((work, i) => runLoop(sleepers[i] as Slot, work));
    },
    async stop() {
      running = false;
      for (const s of listening?.slots ?? []) s.wake();
      await Promise.all(loops);
      await listening?.close();
    },
  };
}
