import type { Sql } from "postgres";
import { createTimerSleeper, type Sleeper } from "../core/worker-loop.ts";

/**
 * A worker loop's sleep that a Postgres NOTIFY cuts short. A NOTIFY that arrives while the worker is busy
 * is remembered (`notifiedSince`), so the wake-up is not lost between two sleeps.
 */
export type Wakeup = Sleeper & { close(): Promise<void> };

export async function listenForWakeups(sql: Sql, channel: string): Promise<Wakeup> {
  // One slot alone: a NOTIFY wakes it if it sleeps, and is remembered if it is busy.
  const { slots, close } = await listenForSlots(sql, channel, 1);
  return { ...(slots[0] as Slot), close };
}

/** One of several loops that share a NOTIFY: `passOn()` wakes another sleeping slot (it found work, maybe there is more). */
export type Slot = Sleeper & { passOn(): void };

/**
 * Sleepers for `n` loops that take turns at one channel: a NOTIFY wakes one sleeping slot, not all of
 * them (eight claims for one new saga, seven of them finding nothing), and a slot that found work passes
 * the wake-up on, so a burst still spreads over every slot. With no slot asleep, each busy slot is told,
 * so one of them looks again before it sleeps and nothing is lost.
 */
export function createSlots(n: number): { slots: Slot[]; notify(): void } {
  const states = Array.from({ length: n }, () => ({ timer: createTimerSleeper(), notified: false, sleeping: false }));
  const wakeOne = (except?: (typeof states)[number]) => {
    const idle = states.find((s) => s.sleeping && s !== except);
    if (!idle) return false;
    idle.sleeping = false;
    idle.notified = true;
    idle.timer.wakeIfSleeping();
    return true;
  };
  const slots = states.map((state) => ({
    async sleep(ms: number) {
      state.sleeping = true;
      try {
        await state.timer.sleep(ms);
      } finally {
        state.sleeping = false;
      }
    },
    wake: state.timer.wake,
    beginRound: () => {
      state.notified = false;
    },
    notifiedSince: () => state.notified,
    passOn: () => {
      wakeOne(state);
    },
  }));
  return {
    slots,
    notify() {
      if (!wakeOne()) for (const s of states) s.notified = true;
    },
  };
}

/** `n` slots woken through a Postgres NOTIFY on `channel`. */
export async function listenForSlots(sql: Sql, channel: string, n: number): Promise<{ slots: Slot[]; close(): Promise<void> }> {
  const { slots, notify } = createSlots(n);
  const listener = await sql.listen(channel, notify);
  return { slots, close: () => listener.unlisten().catch(() => {}) };
}
