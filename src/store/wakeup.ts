import type { Sql } from "postgres";
import { createTimerSleeper, type Sleeper } from "../core/worker-loop.ts";

/**
 * A worker loop's sleep that a Postgres NOTIFY cuts short. A NOTIFY that arrives while the worker is busy
 * is remembered (`notifiedSince`), so the wake-up is not lost between two sleeps.
 */
export type Wakeup = Sleeper & { close(): Promise<void> };

export async function listenForWakeups(sql: Sql, channel: string): Promise<Wakeup> {
  const timer = createTimerSleeper();
  let notified = false;
  const listener = await sql.listen(channel, () => {
    notified = true;
    timer.wakeIfSleeping();
  });
  return {
    sleep: timer.sleep,
    wake: timer.wake,
    beginRound: () => {
      notified = false;
    },
    notifiedSince: () => notified,
    close: () => listener.unlisten().catch(() => {}),
  };
}
