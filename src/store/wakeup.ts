import type { Sql } from "postgres";

/**
 * A worker loop's sleep that a Postgres NOTIFY cuts short. A NOTIFY that arrives while the worker is busy
 * is remembered (`notifiedSince`), so the wake-up is not lost between two sleeps.
 */
export type Wakeup = {
  /** Sleeps up to `ms`, or until a NOTIFY or `wake()` (also one that came while nobody slept). */
  sleep(ms: number): Promise<void>;
  /** Forgets earlier NOTIFYs: call at the start of a round of work. */
  beginRound(): void;
  /** Whether a NOTIFY came since beginRound. */
  notifiedSince(): boolean;
  wake(): void;
  close(): Promise<void>;
};

export async function listenForWakeups(sql: Sql, channel: string): Promise<Wakeup> {
  let notified = false;
  let wake: (() => void) | undefined;
  // A wake() while the worker is busy (a stop() in the middle of a batch) must end its next sleep, or the
  // worker sleeps a whole poll interval before it sees that it was asked to stop.
  let pendingWake = false;
  const listener = await sql.listen(channel, () => {
    notified = true;
    wake?.();
  });
  return {
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
    beginRound: () => {
      notified = false;
    },
    notifiedSince: () => notified,
    wake: () => {
      if (wake) wake();
      else pendingWake = true;
    },
    close: () => listener.unlisten().catch(() => {}),
  };
}
