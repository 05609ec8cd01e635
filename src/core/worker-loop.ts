import { type Backoff, backoffDelay } from "./backoff.ts";

/** A loop's sleep that something can cut short (a NOTIFY, a stop). */
export type Sleeper = {
  /** Sleeps up to `ms`, or until woken. */
  sleep(ms: number): Promise<void>;
  /** Forgets earlier wake-ups: called at the start of a round. */
  beginRound(): void;
  /** Whether a wake-up came since beginRound (work arrived while the round ran). */
  notifiedSince(): boolean;
  wake(): void;
};

/** What a round found: more work at once, nothing to do, or a reason to wait (the broker is down, say). */
export type RoundOutcome = "more" | "idle" | { waitMs: number };

export type WorkerLoopOptions = {
  running: () => boolean;
  round: () => Promise<RoundOutcome>;
  sleeper: Sleeper;
  /** Longest sleep when a round found nothing and nothing woke the loop. */
  idleMs: number;
  /** How a failing round backs off (default 200 ms doubling to 10 s). */
  backoff?: Backoff;
  /** Told of each failed round; the loop then sleeps `delayMs`. */
  onFailure: (error: unknown, failuresInARow: number, delayMs: number) => void;
};

/**
 * The one worker loop of the relay's lanes, the saga worker and the consumers' sweep: run a round, go on
 * at once while there is more, sleep until woken or polled when there is not, back off while rounds fail,
 * and end when `running` says so (a stop wakes the sleeper).
 */
export async function runWorkerLoop(options: WorkerLoopOptions): Promise<void> {
  const { sleeper } = options;
  let failuresInARow = 0;
  while (options.running()) {
    try {
      sleeper.beginRound();
      const outcome = await options.round();
      failuresInARow = 0;
      if (outcome === "more") continue;
      if (outcome === "idle") {
        if (!sleeper.notifiedSince()) await sleeper.sleep(options.idleMs);
        continue;
      }
      await sleeper.sleep(outcome.waitMs);
    } catch (error) {
      failuresInARow++;
      const delayMs = backoffDelay(failuresInARow, options.backoff ?? { baseMs: 200, maxMs: 10_000 });
      options.onFailure(error, failuresInARow, delayMs);
      await sleeper.sleep(delayMs);
    }
  }
}

/**
 * A sleeper that a timer or `wake()` ends. A `wake()` while nobody sleeps (a stop in the middle of a round)
 * ends the next sleep, or the loop would sleep a whole interval before it saw it was asked to stop;
 * `wakeIfSleeping()` (work arrived) only ends a sleep in progress.
 */
export function createTimerSleeper(): Sleeper & { wakeIfSleeping(): void } {
  let wake: (() => void) | undefined;
  let pendingWake = false;
  return {
    wakeIfSleeping: () => wake?.(),
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        if (pendingWake) {
          pendingWake = false;
          resolve();
          return;
        }
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      }),
    beginRound: () => {},
    notifiedSince: () => false,
    wake: () => {
      if (wake) wake();
      else pendingWake = true;
    },
  };
}
