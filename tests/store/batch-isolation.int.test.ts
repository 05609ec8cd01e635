import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { EventStore } from "../../src/core/event-store.ts";
import { connect } from "../../src/store/connect.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

const stream = () => `counter-${crypto.randomUUID()}`;
const added = (amount: number) => ({ type: "Added", data: { amount } });

let db: TestDatabase;
let store: EventStore;

beforeAll(async () => {
  db = await createTestDatabase({ max: 20 });
  store = createPostgresEventStore({ sql: db.sql, notifyChannel: `iso_${crypto.randomUUID().slice(0, 8)}` });
});
afterAll(async () => db.drop());

async function eventCount(): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from eventline_events`;
  return row?.n ?? 0;
}

/** Data Postgres cannot hold, or that cannot be stored as JSON at all. */
const unstorable: [string, unknown][] = [
  ["a NUL character", { name: "bad\u0000name" }],
  ["a lone high surrogate", { name: "bad\ud800" }],
  ["a lone low surrogate in a nested array", { list: ["ok", { deep: "\udc00x" }] }],
  ["a NUL in an object key", { "k\u0000": 1 }],
  ["no data at all", undefined],
  ["a BigInt", { n: 1n }],
];

describe("one faulty call in a group-commit batch", () => {
  for (const [what, data] of unstorable) {
    it(`fails only the call whose data holds ${what}; every other call of the batch commits`, async () => {
      const before = await eventCount();
      const good = Array.from({ length: 40 }, (_, i) => store.appendToStream(stream(), [added(i)]));
      const bad = store.appendToStream(stream(), [{ type: "Added", data } as never]);
      const more = Array.from({ length: 40 }, (_, i) => store.appendToStream(stream(), [added(i)]));
      const outcomes = await Promise.allSettled([...good, bad, ...more]);
      const failed = outcomes.filter((o) => o.status === "rejected");
      expect(failed).toHaveLength(1);
      expect(outcomes[40]?.status).toBe("rejected");
      expect(String((outcomes[40] as PromiseRejectedResult).reason)).toMatch(/TypeError|cannot store/);
      expect(await eventCount()).toBe(before + 80);
    });
  }

  it("fails only the call whose stream id holds a NUL", async () => {
    const before = await eventCount();
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 20 }, () => store.appendToStream(stream(), [added(1)])),
      store.appendToStream(`counter-\u0000${crypto.randomUUID()}`, [added(1)]),
      store.appendToStream(stream(), [{ type: "Add\ud800ed", data: { amount: 1 } }]),
    ]);
    expect(outcomes.map((o) => o.status).filter((s) => s === "rejected")).toHaveLength(2);
    expect(await eventCount()).toBe(before + 20);
  });

  it("splits a batch that Postgres refuses for a reason no check foresaw, so the other calls still commit", async () => {
    // A check constraint only this test adds: the store cannot know it, so the batch itself must fail and be split.
    await db.sql.unsafe(`alter table eventline_events add constraint no_forbidden check (type <> 'Forbidden')`);
    try {
      const before = await eventCount();
      const outcomes = await Promise.allSettled([
        ...Array.from({ length: 30 }, () => store.appendToStream(stream(), [added(1)])),
        store.appendToStream(stream(), [{ type: "Forbidden", data: {} }]),
        ...Array.from({ length: 30 }, () => store.appendToStream(stream(), [added(1)])),
      ]);
      expect(outcomes.map((o) => o.status).filter((s) => s === "rejected")).toHaveLength(1);
      expect(outcomes[30]?.status).toBe("rejected");
      expect(await eventCount()).toBe(before + 60);
    } finally {
      await db.sql.unsafe(`alter table eventline_events drop constraint no_forbidden`);
    }
  });
});

describe("event ids", () => {
  it("treats an id that differs only in case as the same id: appending it again is a replay", async () => {
    const s = stream();
    const id = crypto.randomUUID();
    const first = await store.appendToStream(s, [{ ...added(1), eventId: id }]);
    const again = await store.appendToStream(s, [{ ...added(1), eventId: id.toUpperCase() }]);
    expect([again.version, again.position]).toEqual([first.version, first.position]);
    const viaTransaction = await store.appendToStream(s, [{ ...added(1), eventId: id.toUpperCase() }], {
      idempotency: { key: crypto.randomUUID(), fingerprint: "f", respond: () => ({ status: 200, body: {} }) },
    });
    expect(viaTransaction.position).toBe(first.position);
    expect(await store.streamVersion(s)).toBe(1);
  });
});

describe("the two write paths racing on new streams", () => {
  it("retries a deadlock or a just-filled index between a one-transaction append and a batch, instead of failing", async () => {
    // Deadlocks are found after deadlock_timeout (1 s by default); a short one keeps the test quick.
    const sql = connect(db.url, { max: 10, schema: db.schema, settings: { deadlock_timeout: "20ms" } });
    const store = createPostgresEventStore({ sql });
    const failures: unknown[] = [];
    for (let round = 0; round < 60; round++) {
      const streams = [stream(), stream()];
      // The one-transaction path (an idempotency record) names both streams; batched appends name each.
      const outcomes = await Promise.allSettled([
        store.append(
          streams.map((s) => ({ streamId: s, expectedVersion: "any" as const, events: [added(1)] })),
          { idempotency: { key: crypto.randomUUID(), fingerprint: "f", respond: () => ({ status: 200, body: {} }) } },
        ),
        ...streams.flatMap((s) => [store.appendToStream(s, [added(2)]), store.appendToStream(s, [added(3)])]),
        store.append([...streams].reverse().map((s) => ({ streamId: s, expectedVersion: "any" as const, events: [added(4)] }))),
      ]);
      for (const o of outcomes) if (o.status === "rejected") failures.push(o.reason);
    }
    await sql.end();
    expect(failures.map(String)).toEqual([]);
  });
});
