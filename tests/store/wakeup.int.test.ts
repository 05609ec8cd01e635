import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { listenForWakeups, type Wakeup } from "../../src/store/wakeup.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

let db: TestDatabase;
let wakeup: Wakeup;
const channel = `wake_${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  db = await createTestDatabase();
  wakeup = await listenForWakeups(db.sql, channel);
});
afterAll(async () => {
  await wakeup.close();
  await db.drop();
});

/** How long a sleep of up to 10 s lasted, in milliseconds. */
async function timedSleep(): Promise<number> {
  const started = Date.now();
  await wakeup.sleep(10_000);
  return Date.now() - started;
}

describe("a worker's wake-up", () => {
  it("ends a sleep when a NOTIFY arrives on its channel", async () => {
    wakeup.beginRound();
    const slept = timedSleep();
    await Bun.sleep(50);
    await db.sql`select pg_notify(${channel}, '')`;
    expect(await slept).toBeLessThan(5_000);
    expect(wakeup.notifiedSince()).toBe(true);
  });

  it("ends a sleep when woken by hand", async () => {
    const slept = timedSleep();
    await Bun.sleep(20);
    wakeup.wake();
    expect(await slept).toBeLessThan(5_000);
  });

  it("remembers a wake that came while nobody slept, so a stop during a round is not missed", async () => {
    wakeup.wake();
    expect(await timedSleep()).toBeLessThan(5_000);
  });
});
