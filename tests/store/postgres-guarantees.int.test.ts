import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { ConcurrencyError, IdempotencyError } from "../../src/core/errors.ts";
import type { Checkpoint, EventStore } from "../../src/core/event-store.ts";
import { handleCommand } from "../../src/core/handle-command.ts";
import { loadState } from "../../src/core/load-state.ts";
import { Upcasters } from "../../src/core/upcasters.ts";
import { connect } from "../../src/store/connect.ts";
import { listMigrations, migrate } from "../../src/store/migrate.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { counter } from "../support/counter-decider.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

const added = (amount: number) => ({ type: "Added", data: { amount } });
const stream = () => `counter-${crypto.randomUUID()}`;

let db: TestDatabase;
let store: EventStore;
const channel = `outbox_${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  db = await createTestDatabase();
  store = createPostgresEventStore({ sql: db.sql, notifyChannel: channel });
});
afterAll(async () => db.drop());

async function counts(streamId: string) {
  const [row] = await db.sql<{ events: number; outbox: number }[]>`
    select (select count(*)::int from eventline_events where stream_id = ${streamId}) as events,
           (select count(*)::int from eventline_outbox where stream_id = ${streamId}) as outbox`;
  return row;
}

async function readEverything(from: Checkpoint) {
  const events = [];
  let checkpoint = from;
  for (;;) {
    const batch = await store.readAll({ after: checkpoint, batchSize: 1000 });
    if (batch.events.length === 0) return { events, checkpoint };
    events.push(...batch.events);
    checkpoint = batch.checkpoint;
  }
}

describe("the Postgres event store", () => {
  it("writes one outbox row per event and one NOTIFY per appending transaction", async () => {
    const heard: string[] = [];
    const listener = await db.sql.listen(channel, (payload) => heard.push(payload));
    const s = stream();
    await store.appendToStream(s, [added(1), added(2), added(3)]);
    await Bun.sleep(200);
    await listener.unlisten();
    expect(await counts(s)).toEqual({ events: 3, outbox: 3 });
    expect(heard).toHaveLength(1);
  });

  it("leaves no event, no outbox row and no NOTIFY behind when an append fails", async () => {
    const s = stream();
    await store.appendToStream(s, [added(1)]);
    const heard: string[] = [];
    const listener = await db.sql.listen(channel, (payload) => heard.push(payload));
    await expect(store.appendToStream(s, [added(2), added(3)], { expectedVersion: "no_stream" })).rejects.toBeInstanceOf(
      ConcurrencyError,
    );
    await expect(store.appendToStream(s, [{ type: "Added", data: { bad: 1n } }])).rejects.toThrow();
    await Bun.sleep(300);
    expect(await counts(s)).toEqual({ events: 1, outbox: 1 });
    expect(heard).toHaveLength(0);
    // The listener does hear a successful append, so the silence above means something.
    await store.appendToStream(s, [added(4)]);
    await Bun.sleep(200);
    await listener.unlisten();
    expect(heard).toHaveLength(1);
  });

  it("adds no event and no outbox row when an event id is appended again", async () => {
    const s = stream();
    const eventId = crypto.randomUUID();
    const first = await store.appendToStream(s, [{ ...added(1), eventId }]);
    const again = await store.appendToStream(s, [{ ...added(1), eventId }], { expectedVersion: 5 });
    expect([again.version, again.position]).toEqual([first.version, first.position]);
    expect(await counts(s)).toEqual({ events: 1, outbox: 1 });
  });

  it("gives one winner when two concurrent appends race on a brand-new stream", async () => {
    const s = stream();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.appendToStream(s, [added(i)], { expectedVersion: "no_stream" })),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    for (const o of outcomes) if (o.status === "rejected") expect(o.reason).toBeInstanceOf(ConcurrencyError);
    expect(await counts(s)).toEqual({ events: 1, outbox: 1 });
  });

  it("gives one winner per stream when two processes' batches create the same new streams at once", async () => {
    // Two stores with their own pools stand for two processes: their batches meet only in Postgres.
    const other = connect(db.url, { max: 4, schema: db.schema });
    const rival = createPostgresEventStore({ sql: other, notifyChannel: channel });
    try {
      const streams = Array.from({ length: 60 }, () => stream());
      const race = (s: EventStore, amount: number) =>
        streams.map((id) => s.appendToStream(id, [added(amount)], { expectedVersion: "no_stream" }));
      const outcomes = await Promise.allSettled([...race(store, 1), ...race(rival, 2)]);
      for (const [i, id] of streams.entries()) {
        const pair = [outcomes[i], outcomes[i + streams.length]];
        expect(pair.filter((o) => o?.status === "fulfilled")).toHaveLength(1);
        const lost = pair.find((o) => o?.status === "rejected") as PromiseRejectedResult;
        expect(lost.reason).toBeInstanceOf(ConcurrencyError);
        expect(await counts(id)).toEqual({ events: 1, outbox: 1 });
      }
    } finally {
      await other.end();
    }
  });

  it("queues concurrent writers of one stream, batched and in their own transactions, so none fails", async () => {
    const s = stream();
    // An idempotency key sends an append down the general path; the others share group-commit batches.
    const appends = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0
        ? store.appendToStream(s, [added(i)], { expectedVersion: "any" })
        : store.append([{ streamId: s, events: [added(i)], expectedVersion: "any" }], {
            idempotency: { key: `${s}-${i}`, fingerprint: "f", respond: () => ({ status: 200, body: {} }) },
          }),
    );
    const outcomes = await Promise.allSettled(appends);
    expect(outcomes.filter((o) => o.status === "rejected")).toEqual([]);
    const versions = (await store.readStream(s)).map((e) => e.version);
    expect(versions).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await store.streamVersion(s)).toBe(40);
  });

  it("holds back writers of the locked streams only, and every writer while more than the lock table's share are locked", async () => {
    const [held, free, keyed] = [stream(), stream(), stream()];
    const [limit] = await db.sql<{ streams: number }[]>`
      select 4 * current_setting('max_locks_per_transaction')::int as streams`;
    const many = Array.from({ length: (limit?.streams ?? 0) + 1 }, () => stream());
    // An idempotency key sends an append down the general path; the others go in a group-commit batch.
    const batched = (streamId: string) => store.appendToStream(streamId, [added(1)]);
    const inTransaction = (streamId: string) =>
      store.append([{ streamId, events: [added(1)], expectedVersion: "any" }], {
        idempotency: { key: `${streamId}-${crypto.randomUUID()}`, fingerprint: "f", respond: () => ({ status: 200, body: {} }) },
      });
    // Whether an append finishes while another transaction holds these streams' locks.
    async function finishesWhileLocked(locked: string[], append: () => Promise<unknown>): Promise<boolean> {
      let finished = false;
      let running: Promise<unknown> | undefined;
      const whileLocked = await db.sql.begin(async (tx) => {
        await tx`select eventline_lock_streams(${locked}::text[])`;
        running = append().then(() => {
          finished = true;
        });
        await Bun.sleep(300);
        return finished;
      });
      await running;
      return whileLocked;
    }
    expect(await finishesWhileLocked([held], () => batched(held))).toBe(false);
    expect(await finishesWhileLocked([held], () => inTransaction(held))).toBe(false);
    expect(await finishesWhileLocked([held], () => batched(free))).toBe(true);
    expect(await finishesWhileLocked([held], () => inTransaction(keyed))).toBe(true);
    expect(await finishesWhileLocked(many, () => batched(free))).toBe(false);
    expect(await finishesWhileLocked(many, () => inTransaction(keyed))).toBe(false);
    // Each held-back append went through once the lock was gone.
    expect(await store.streamVersions([held, free, keyed])).toEqual(
      new Map([
        [held, 2],
        [free, 2],
        [keyed, 2],
      ]),
    );
  });

  it("writes 600 concurrent one-stream appends while another writer's transaction stays open", async () => {
    const streams = Array.from({ length: 600 }, () => stream());
    let finished = false;
    let appends: Promise<unknown> | undefined;
    // An open writer holds the table's row-exclusive lock: only a batch that locks out every writer waits on it.
    const whileOpen = await db.sql.begin(async (tx) => {
      await tx`lock table eventline_events in row exclusive mode`;
      appends = Promise.all(streams.map((id) => store.appendToStream(id, [added(1)], { expectedVersion: "no_stream" }))).then(
        () => {
          finished = true;
        },
      );
      for (let waited = 0; waited < 5_000 && !finished; waited += 50) await Bun.sleep(50);
      return finished;
    });
    await appends;
    expect(whileOpen).toBe(true);
  });

  it("replays a duplicate of an append still running instead of failing its expected version", async () => {
    const pairs = Array.from({ length: 10 }, () => ({ streamId: stream(), eventId: crypto.randomUUID() }));
    const append = ({ streamId, eventId }: (typeof pairs)[number]) =>
      store.appendToStream(streamId, [{ ...added(1), eventId }], { expectedVersion: "no_stream" });
    const outcomes = await Promise.allSettled(pairs.flatMap((p) => [append(p), append(p)]));
    expect(outcomes.filter((o) => o.status === "rejected").map((o) => String(o.reason))).toEqual([]);
    for (const p of pairs) expect(await counts(p.streamId)).toEqual({ events: 1, outbox: 1 });
  });

  it("refuses to append at another isolation level than read committed, saying which setting to change", async () => {
    const repeatable = connect(db.url, {
      max: 2,
      schema: db.schema,
      settings: { default_transaction_isolation: "repeatable read" },
    });
    try {
      const other = createPostgresEventStore({ sql: repeatable, notifyChannel: channel });
      const refused = await other.appendToStream(stream(), [added(1)]).catch((e: unknown) => e as Error);
      expect(String(refused)).toContain("eventline appends run at read committed, not repeatable read");
      // The general path sets its own isolation level.
      const s = stream();
      await other.append([{ streamId: s, events: [added(1)], expectedVersion: "no_stream" }], {
        idempotency: { key: s, fingerprint: "f", respond: () => ({ status: 200, body: {} }) },
      });
      expect(await counts(s)).toEqual({ events: 1, outbox: 1 });
    } finally {
      await repeatable.end();
    }
  });

  it("never lets a whole-log reader skip an event whose transaction commits late", async () => {
    const { checkpoint: start } = await readEverything({ transactionId: "0", position: 0 });
    const late = stream();
    // This transaction takes a position first and commits last: a position-ordered reader would skip it.
    const slow = await db.sql.reserve();
    await slow`begin`;
    await slow`insert into eventline_events (event_id, stream_id, category, version, type, data, metadata)
               values (${crypto.randomUUID()}, ${late}, 'counter', 1, 'Added', '{"amount":1}', '{"correlationId":"x","causationId":"x"}')`;
    const fast = stream();
    await store.appendToStream(fast, [added(2)]);
    await store.appendToStream(fast, [added(3)]);
    const whileOpen = await readEverything(start);
    expect(whileOpen.events).toHaveLength(0);
    await slow`commit`;
    slow.release();
    const afterCommit = await readEverything(whileOpen.checkpoint);
    expect(afterCommit.events.map((e) => [e.streamId, e.version])).toEqual([
      [late, 1],
      [fast, 1],
      [fast, 2],
    ]);
    const positions = afterCommit.events.map((e) => e.position);
    expect(positions[0]).toBeLessThan(positions[1] as number);
  });

  it("loads a 10,000-event stream through its snapshot, reading at most 100 events", async () => {
    const s = stream();
    const decider = { ...counter, snapshot: { every: 100, schemaVersion: 1 } };
    for (let v = 0; v < 9_990; v += 1_000) {
      await store.appendToStream(
        s,
        Array.from({ length: Math.min(1_000, 9_990 - v) }, () => added(1)),
      );
    }
    for (let i = 0; i < 20; i++) await handleCommand(store, decider, s, { type: "Add", data: { amount: 1 } });
    const loaded = await loadState(store, decider, s);
    expect(loaded.version).toBe(10_010);
    expect(loaded.state.total).toBe(10_010);
    expect(loaded.eventsRead).toBeLessThanOrEqual(100);
    expect((await loadState(store, counter, s)).eventsRead).toBe(10_010);
  });

  it("never rewrites stored rows when reading through upcasters", async () => {
    const s = stream();
    await store.appendToStream(s, [added(4)]);
    const upcasting = createPostgresEventStore({
      sql: db.sql,
      upcasters: new Upcasters([{ type: "Added", fromVersion: 1, upcast: (d) => ({ ...(d as object), currency: "EUR" }) }]),
    });
    expect((await upcasting.readStream(s))[0]?.data).toEqual({ amount: 4, currency: "EUR" });
    const [raw] = await db.sql<{ schema_version: number; data: unknown }[]>`
      select schema_version, data from eventline_events where stream_id = ${s}`;
    expect(raw).toEqual({ schema_version: 1, data: { amount: 4 } });
  });

  it("keeps personal fields out of every table in clear text, outbox included", async () => {
    const pii = createPostgresEventStore({
      sql: db.sql,
      personalData: { Registered: { subject: (d) => String(d.customerId), fields: ["email"] } },
    });
    const customerId = crypto.randomUUID();
    const email = `secret-${customerId}@example.com`;
    await pii.appendToStream(`customer-${customerId}`, [{ type: "Registered", data: { customerId, email } }]);
    const [hit] = await db.sql<{ n: number }[]>`
      select (select count(*) from eventline_events where data::text like ${`%${email}%`} or metadata::text like ${`%${email}%`})
           + (select count(*) from eventline_outbox o where o::text like ${`%${email}%`}) as n`;
    expect(Number(hit?.n)).toBe(0);
    expect((await pii.readStream(`customer-${customerId}`))[0]?.data).toEqual({ customerId, email });
  });

  it("gathers concurrent appends into shared transactions, each with its own result", async () => {
    const streams = Array.from({ length: 200 }, () => stream());
    const results = await Promise.all(streams.map((s) => store.appendToStream(s, [added(1)], { expectedVersion: "no_stream" })));
    expect(results.map((r) => r.version)).toEqual(streams.map(() => 1));
    expect(new Set(results.map((r) => r.position)).size).toBe(200);
    const [row] = await db.sql<{ n: number }[]>`
      select count(distinct transaction_id)::int as n from eventline_events where stream_id = any(${streams}::text[])`;
    expect(row?.n).toBeLessThan(200);
  });

  it("answers two appends of one batch that share an event id as a write and a reused id; the rest commit", async () => {
    const eventId = crypto.randomUUID();
    const [first, second] = [stream(), stream()];
    const others = Array.from({ length: 20 }, () => stream());
    const outcomes = await Promise.allSettled([
      store.appendToStream(first, [{ ...added(1), eventId }]),
      store.appendToStream(second, [{ ...added(1), eventId }]),
      ...others.map((s) => store.appendToStream(s, [added(1)], { expectedVersion: "no_stream" })),
    ]);
    const [a, b] = outcomes;
    expect([a?.status, b?.status].sort()).toEqual(["fulfilled", "rejected"]);
    const refused = [a, b].find((o) => o?.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(IdempotencyError);
    expect(outcomes.slice(2).every((o) => o.status === "fulfilled")).toBe(true);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from eventline_events where event_id = ${eventId}`;
    expect(row?.n).toBe(1);
  });

  it("fails only the conflicting append of a batch; the others commit", async () => {
    const taken = Array.from({ length: 20 }, () => stream());
    for (const s of taken) await store.appendToStream(s, [added(1)]);
    const fresh = Array.from({ length: 20 }, () => stream());
    const outcomes = await Promise.allSettled([
      ...taken.map((s) => store.appendToStream(s, [added(2)], { expectedVersion: "no_stream" })),
      ...fresh.map((s) => store.appendToStream(s, [added(2)], { expectedVersion: "no_stream" })),
    ]);
    expect(outcomes.slice(0, 20).every((o) => o.status === "rejected" && o.reason instanceof ConcurrencyError)).toBe(true);
    expect(outcomes.slice(20).every((o) => o.status === "fulfilled")).toBe(true);
    for (const s of taken) expect(await counts(s)).toEqual({ events: 1, outbox: 1 });
    for (const s of fresh) expect(await counts(s)).toEqual({ events: 1, outbox: 1 });
  });

  it("answers a replay, a conflict and multi-stream appends in one batch, each as if it ran alone", async () => {
    const replayed = await store.appendToStream(stream(), [added(7)]);
    const [again] = replayed.events;
    const taken = stream();
    await store.appendToStream(taken, [added(1)]);
    const pairs = Array.from({ length: 10 }, () => [stream(), stream()] as const);
    const [replay, conflict, ...multi] = await Promise.allSettled([
      store.appendToStream(again!.streamId, [{ ...added(7), eventId: again!.eventId }]),
      store.appendToStream(taken, [added(2)], { expectedVersion: "no_stream" }),
      ...pairs.map(([a, b]) =>
        store.append([
          { streamId: a, events: [added(1), added(2)], expectedVersion: "no_stream" },
          { streamId: b, events: [added(3)], expectedVersion: "any" },
        ]),
      ),
    ]);
    expect(replay.status === "fulfilled" && replay.value.position).toBe(replayed.position);
    expect(conflict.status === "rejected" && conflict.reason instanceof ConcurrencyError).toBe(true);
    for (const [i, outcome] of multi.entries()) {
      expect(outcome.status).toBe("fulfilled");
      const [a, b] = (outcome as PromiseFulfilledResult<Awaited<ReturnType<EventStore["append"]>>>).value;
      expect([a?.streamId, a?.version, b?.streamId, b?.version]).toEqual([pairs[i]![0], 2, pairs[i]![1], 1]);
      expect(a!.events.map((e) => (e.data as { amount: number }).amount)).toEqual([1, 2]);
    }
    expect(await counts(again!.streamId)).toEqual({ events: 1, outbox: 1 });
    expect(await counts(taken)).toEqual({ events: 1, outbox: 1 });
  });

  it("keeps stream ids, types and data holding control characters whole when batched with plain appends", async () => {
    // The batch packs columns with \x1f between values and \x1e for NULL; names holding them must not split.
    const odd = [`odd\x1f${crypto.randomUUID()}`, `odd\x1e${crypto.randomUUID()}`, `odd-${crypto.randomUUID()}`];
    const types = ["Added\x1fTwice", "Added\x1e", "Added"];
    const plain = Array.from({ length: 20 }, () => stream());
    const results = await Promise.all([
      ...odd.map((s, i) => store.appendToStream(s, [{ type: types[i]!, data: { note: "a\x1fb\x1ec" } }])),
      ...plain.map((s) => store.appendToStream(s, [added(1)], { expectedVersion: "no_stream" })),
    ]);
    expect(results.map((r) => [r.streamId, r.version])).toEqual([...odd, ...plain].map((s) => [s, 1]));
    for (const [i, s] of odd.entries()) {
      const [event] = await store.readStream(s);
      expect([event?.streamId, event?.type, event?.data]).toEqual([s, types[i], { note: "a\x1fb\x1ec" }]);
    }
    for (const s of plain) expect(await counts(s)).toEqual({ events: 1, outbox: 1 });
  });

  it("applies migrations once when several processes start at the same time", async () => {
    const schema = `m_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const admin = connect(db.url, { max: 1 });
    await admin.unsafe(`create schema ${schema}`);
    const pools = Array.from({ length: 4 }, () => connect(db.url, { max: 1, schema }));
    try {
      const applied = await Promise.all(pools.map((p) => migrate(p)));
      expect(applied.flat()).toEqual(listMigrations().map((m) => m.name));
      const [row] = await admin.unsafe(`select count(*)::int as n from ${schema}.eventline_migrations`);
      expect(row?.n).toBe(listMigrations().length);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await admin.unsafe(`drop schema ${schema} cascade`);
      await admin.end();
    }
  });
});
