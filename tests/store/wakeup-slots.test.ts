import { describe, expect, it } from "bun:test";
import { createSlots } from "../../src/store/wakeup.ts";

/** Which of the slots' sleeps (of `ms`) have ended after a short wait. */
async function sleepers(n: number) {
  const { slots, notify } = createSlots(n);
  const woke: number[] = [];
  const sleeps = slots.map((s, i) => s.sleep(5_000).then(() => woke.push(i)));
  const settle = () => new Promise((r) => setTimeout(r, 20));
  return { slots, notify, woke, sleeps, settle };
}

describe("slots sharing one channel", () => {
  it("wake one sleeping slot per notification, not all of them", async () => {
    const { notify, woke, slots, settle } = await sleepers(4);
    notify();
    await settle();
    expect(woke).toHaveLength(1);
    expect(slots[woke[0] as number]?.notifiedSince()).toBe(true);
    for (const s of slots) s.wake();
  });

  it("let a slot that found work wake the next one, so a burst spreads over them", async () => {
    const { notify, woke, slots, settle } = await sleepers(3);
    notify();
    await settle();
    slots[woke[0] as number]?.passOn();
    await settle();
    expect(woke).toHaveLength(2);
    for (const s of slots) s.wake();
  });

  it("tell every busy slot when none sleeps, so the notification is not lost", () => {
    const { slots, notify } = createSlots(3);
    for (const s of slots) s.beginRound();
    notify();
    expect(slots.map((s) => s.notifiedSince())).toEqual([true, true, true]);
  });
});
