/**
 * What a worker tells the process's liveness: work is waiting, work got done, or nothing is left. A part
 * that has had work waiting and made no progress for longer than the stall time is stalled; a process
 * with a stalled part is not live.
 */
export type WorkTracker = {
  /** There is work to do (a delivery, a due row, a due instance); a no-op while already waiting. */
  waiting(): void;
  /** Work was done: the stall clock starts again. */
  progressed(): void;
  /** Nothing is waiting any more. */
  idle(): void;
};

export type Stalled = { part: string; stalledMs: number };
export type LivenessReport = { live: boolean; stalled: Stalled[] };

export type Liveness = {
  track(part: string): WorkTracker;
  report(): LivenessReport;
};

/** A process's liveness over its parts; `now` is for tests. */
export function createLiveness(options: { stallMs: number; now?: () => number }): Liveness {
  const now = options.now ?? Date.now;
  const parts = new Map<string, { waitingSince?: number; lastProgress: number }>();
  return {
    track(part) {
      const state = { waitingSince: undefined as number | undefined, lastProgress: now() };
      parts.set(part, state);
      return {
        waiting: () => {
          state.waitingSince ??= now();
        },
        progressed: () => {
          state.lastProgress = now();
        },
        idle: () => {
          state.waitingSince = undefined;
        },
      };
    },
    report() {
      const t = now();
      const stalled: Stalled[] = [];
      for (const [part, s] of parts) {
        if (s.waitingSince === undefined) continue;
        const quietMs = t - Math.max(s.waitingSince, s.lastProgress);
        if (quietMs > options.stallMs) stalled.push({ part, stalledMs: quietMs - options.stallMs });
      }
      return { live: stalled.length === 0, stalled };
    },
  };
}

/** A tracker that ignores everything: the default for a worker run outside a process. */
export const untracked: WorkTracker = { waiting() {}, progressed() {}, idle() {} };
