import type { Sql } from "postgres";

/**
 * A worker loop's sleep that a Postgres NOTIFY cuts short. A NOTIFY that arrives while the worker is busy
 * is remembered (`notifiedSince`), so the wake-up is not lost between two sleeps.
 */
export type Wakeup = {
  /** Sleeps up to `ms`, or until a NOTIFY or `wake()`. */
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
  const listener = await sql.listen(channel, () => {
    notified = true;
    wake?.();
  });
  return {
    sleep: (ms) =>
      new Promise<void>((resolve) => {
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
    wake: () => wake?.(),
    close: () => listener.unlisten().catch(() => {}),
  };
}
