import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { ConcurrencyError, IdempotencyError, IdempotencyKeyTaken } from "../../src/core/errors.ts";
import type { EventStore } from "../../src/core/event-store.ts";
import { handleCommand } from "../../src/core/handle-command.ts";
import { loadState } from "../../src/core/load-state.ts";
import { REDACTED, type PersonalDataPolicy } from "../../src/core/personal-data.ts";
import { Upcasters } from "../../src/core/upcasters.ts";
import { counter, type CounterEvent } from "./counter-decider.ts";

export type StoreOptions = { upcasters?: Upcasters; personalData?: PersonalDataPolicy };
export type StoreFactory = {
  create: (options?: StoreOptions) => Promise<EventStore>;
  close?: () => Promise<void>;
};

const id = () => crypto.randomUUID();
const stream = (category = "counter") => `${category}-${id()}`;
const added = (n: number, eventId?: string) => ({ type: "Added", data: { amount: n }, eventId }) as const;

/** The behaviour every event store must have, run against each implementation. */
export function describeEventStoreContract(name: string, factory: StoreFactory): void {
  describe(`${name} event store contract`, () => {
    let store: EventStore;
    beforeAll(async () => {
      store = await factory.create();
    });
    afterAll(async () => {
      await factory.close?.();
    });

    it("numbers a new stream's events from version 1 and reads them back in order", async () => {
      const s = stream();
      const result = await store.appendToStream(s, [added(1), added(2)], { expectedVersion: "no_stream" });
      expect(result.version).toBe(2);
      const events = await store.readStream(s);
      expect(events.map((e) => [e.version, e.data])).toEqual([
        [1, { amount: 1 }],
        [2, { amount: 2 }],
      ]);
      expect(events[1]?.position).toBe(result.position);
      expect(await store.streamVersion(s)).toBe(2);
      expect(await store.headPosition()).toBeGreaterThanOrEqual(result.position);
    });

    it("records the full envelope with metadata", async () => {
      const s = stream();
      const eventId = id();
      const [e] = (await store.appendToStream(s, [{ ...added(5), eventId, metadata: { correlationId: "c1", actor: "tester" } }]))
        .events;
      expect(e).toMatchObject({
        eventId,
        streamId: s,
        version: 1,
        type: "Added",
        schemaVersion: 1,
        data: { amount: 5 },
        metadata: { correlationId: "c1", causationId: "c1", actor: "tester" },
      });
      expect(Number.isNaN(Date.parse(e?.occurredAt ?? ""))).toBe(false);
    });

    it("correlates an append given no correlation id by its first event, as written and as read back", async () => {
      const s = stream();
      const { events } = await store.appendToStream(s, [added(1), added(2)]);
      const first = events[0]?.eventId ?? "";
      for (const e of [...events, ...(await store.readStream(s))]) {
        expect(e.metadata).toEqual({ correlationId: first, causationId: first });
      }
    });

    it("honours every kind of expected version and reports expected and actual on a conflict", async () => {
      const s = stream();
      await expect(store.appendToStream(s, [added(1)], { expectedVersion: "stream_exists" })).rejects.toBeInstanceOf(
        ConcurrencyError,
      );
      await store.appendToStream(s, [added(1)], { expectedVersion: "no_stream" });
      const conflict = await store.appendToStream(s, [added(1)], { expectedVersion: "no_stream" }).catch((e) => e);
      expect(conflict).toBeInstanceOf(ConcurrencyError);
      expect(conflict).toMatchObject({ code: "CONCURRENCY", expected: "no_stream", actual: 1 });
      await store.appendToStream(s, [added(1)], { expectedVersion: "stream_exists" });
      await store.appendToStream(s, [added(1)], { expectedVersion: 2 });
      await expect(store.appendToStream(s, [added(1)], { expectedVersion: 2 })).rejects.toMatchObject({ expected: 2, actual: 3 });
      await store.appendToStream(s, [added(1)], { expectedVersion: "any" });
      expect(await store.streamVersion(s)).toBe(4);
    });

    it("lets exactly one of two concurrent appends with the same expected version win", async () => {
      const s = stream();
      await store.appendToStream(s, [added(1)]);
      const outcomes = await Promise.allSettled([
        store.appendToStream(s, [added(2)], { expectedVersion: 1 }),
        store.appendToStream(s, [added(3)], { expectedVersion: 1 }),
      ]);
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
      const rejected = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(ConcurrencyError);
      expect(await store.streamVersion(s)).toBe(2);
    });

    it("treats re-appending a stored event id as a replay that returns the first result and writes nothing", async () => {
      const s = stream();
      const eventId = id();
      const first = await store.appendToStream(s, [added(1, eventId)], { expectedVersion: "no_stream" });
      await store.appendToStream(s, [added(7)]);
      const again = await store.appendToStream(s, [added(1, eventId)], { expectedVersion: "no_stream" });
      expect({ version: again.version, position: again.position }).toEqual({ version: first.version, position: first.position });
      expect(await store.readStream(s)).toHaveLength(2);
    });

    it("refuses an event id reused in the same stream for another type or other data, in and out of a transaction", async () => {
      const s = stream();
      const eventId = id();
      await store.appendToStream(s, [{ type: "Added", data: { amount: 1, note: { a: 1, b: 2 } }, eventId }]);
      const tx = { idempotency: { key: id(), fingerprint: "f", respond: () => ({ status: 200, body: {} }) } };
      for (const options of [{}, tx]) {
        await expect(store.appendToStream(s, [{ type: "Added", data: { amount: 2 }, eventId }], options)).rejects.toBeInstanceOf(
          IdempotencyError,
        );
        await expect(
          store.appendToStream(s, [{ type: "Removed", data: { amount: 1, note: { a: 1, b: 2 } }, eventId }], options),
        ).rejects.toBeInstanceOf(IdempotencyError);
      }
      // The same event again, its keys in another order, is still a replay.
      const again = await store.appendToStream(s, [{ type: "Added", data: { note: { b: 2, a: 1 }, amount: 1 }, eventId }]);
      expect(again.version).toBe(1);
      expect(await store.readStream(s)).toHaveLength(1);
    });

    it("refuses an event id reused for a different stream", async () => {
      const eventId = id();
      await store.appendToStream(stream(), [added(1, eventId)]);
      await expect(store.appendToStream(stream(), [added(1, eventId)])).rejects.toBeInstanceOf(IdempotencyError);
    });

    it("appends to several streams atomically: one conflict writes nothing anywhere", async () => {
      const a = stream();
      const b = stream();
      await store.appendToStream(b, [added(1)]);
      await expect(
        store.append([
          { streamId: a, expectedVersion: "no_stream", events: [added(1)] },
          { streamId: b, expectedVersion: "no_stream", events: [added(1)] },
        ]),
      ).rejects.toBeInstanceOf(ConcurrencyError);
      expect(await store.streamVersion(a)).toBe(0);
      const both = await store.append([
        { streamId: a, expectedVersion: "no_stream", events: [added(1)] },
        { streamId: b, expectedVersion: 1, events: [added(1), added(2)] },
      ]);
      expect(both.map((r) => r.version)).toEqual([1, 3]);
    });

    it("answers each request of one append with its own events, also when two requests name one stream", async () => {
      const a = stream();
      const b = stream();
      const results = await store.append([
        { streamId: a, expectedVersion: "any", events: [added(1), added(2)] },
        { streamId: b, expectedVersion: "any", events: [added(3)] },
        { streamId: a, expectedVersion: "any", events: [added(4)] },
      ]);
      const amounts = results.map((r) => r.events.map((e) => (e.data as { amount: number }).amount));
      expect(amounts).toEqual([[1, 2], [3], [4]]);
      expect(results.map((r) => [r.streamId, r.version])).toEqual([
        [a, 2],
        [b, 1],
        [a, 3],
      ]);
      // Appended again with the same ids it is a replay, answered request by request all the same.
      const again = await store.append(
        results.map((r) => ({
          streamId: r.streamId,
          expectedVersion: "any" as const,
          events: r.events.map((e) => ({ type: e.type, data: e.data, eventId: e.eventId })),
        })),
      );
      expect(again.map((r) => r.events.map((e) => e.eventId))).toEqual(results.map((r) => r.events.map((e) => e.eventId)));
    });

    it("rejects an append with no events or no stream id", async () => {
      await expect(store.appendToStream(stream(), [])).rejects.toThrow("at least one event");
      await expect(store.appendToStream("", [added(1)])).rejects.toThrow("streamId");
    });

    it("refuses an expected version that is no version, writing nothing", async () => {
      const s = stream();
      for (const bad of ["latest", "1", -1, 1.5, null]) {
        await expect(store.append([{ streamId: s, events: [added(1)], expectedVersion: bad as never }])).rejects.toThrow(
          "expectedVersion",
        );
      }
      expect(await store.streamVersion(s)).toBe(0);
    });

    it("tells the versions of the streams that exist among those asked about", async () => {
      const [a, b, absent] = [stream(), stream(), stream()];
      await store.appendToStream(a, [added(1), added(2)]);
      await store.appendToStream(b, [added(1)]);
      expect(await store.streamVersions([a, b, absent])).toEqual(
        new Map([
          [a, 2],
          [b, 1],
        ]),
      );
    });

    it("reads a slice of a stream between versions", async () => {
      const s = stream();
      await store.appendToStream(s, [added(1), added(2), added(3), added(4)]);
      const slice = await store.readStream(s, { fromVersion: 2, toVersion: 3 });
      expect(slice.map((e) => e.version)).toEqual([2, 3]);
    });

    it("reads the whole log in batches from a checkpoint, filtered by category", async () => {
      const category = `cat${id().slice(0, 8)}`;
      const s1 = stream(category);
      const s2 = stream(category);
      await store.appendToStream(s1, [added(1), added(2)]);
      await store.appendToStream(stream("other"), [added(9)]);
      await store.appendToStream(s2, [added(3)]);
      const seen: number[] = [];
      let batch = await store.readAll({ categories: [category], batchSize: 2 });
      while (batch.events.length > 0) {
        seen.push(...batch.events.map((e) => (e.data as { amount: number }).amount));
        batch = await store.readAll({ categories: [category], batchSize: 2, after: batch.checkpoint });
      }
      expect(seen).toEqual([1, 2, 3]);
      const [first] = await store.readStream(s1);
      const upToFirst = await store.readAll({ categories: [category], throughPosition: first!.position });
      expect(upToFirst.events.map((e) => (e.data as { amount: number }).amount)).toEqual([1]);
    });

    it("loads state as of a version and as of a point in time", async () => {
      const s = stream();
      await store.appendToStream(s, [added(1), added(10)]);
      await new Promise((r) => setTimeout(r, 20));
      const between = new Date();
      await new Promise((r) => setTimeout(r, 20));
      await store.appendToStream(s, [added(100)]);
      expect((await loadState(store, counter, s)).state.total).toBe(111);
      expect((await loadState(store, counter, s, { version: 1 })).state.total).toBe(1);
      expect((await loadState(store, counter, s, { at: between })).state.total).toBe(11);
    });

    it("gives events appended without an id time-ordered version-7 ids, later ones sorting after", async () => {
      const [first] = (await store.appendToStream(stream(), [added(1)])).events;
      await new Promise((r) => setTimeout(r, 2));
      const [second] = (await store.appendToStream(stream(), [added(2)])).events;
      expect(first?.eventId[14]).toBe("7");
      expect((first?.eventId ?? "") < (second?.eventId ?? "")).toBe(true);
    });

    it("counts an event as of the millisecond its envelope reports, and not a millisecond before", async () => {
      const s = stream();
      const [event] = (await store.appendToStream(s, [added(7)])).events;
      const reported = Date.parse(event?.occurredAt ?? "");
      // The store may keep finer time than the envelope's milliseconds; asking for the reported time
      // must still find the event, or a client could never ask for the state as of an event it saw.
      expect(await store.readStream(s, { until: new Date(reported) })).toHaveLength(1);
      expect(await store.readStream(s, { until: new Date(reported - 1) })).toHaveLength(0);
    });

    it("handles a command by deciding on the loaded state and retries a lost race", async () => {
      const s = stream();
      const results = await Promise.all(
        Array.from({ length: 5 }, () => handleCommand(store, counter, s, { type: "Add", data: { amount: 1 } })),
      );
      expect(results.map((r) => r.version).sort()).toEqual([1, 2, 3, 4, 5]);
      expect((await loadState(store, counter, s)).state.total).toBe(5);
    });

    it("runs a command with an idempotency key only once", async () => {
      const s = stream();
      const key = `key-${id()}`;
      const first = await handleCommand(store, counter, s, { type: "Add", data: { amount: 3 } }, { idempotencyKey: key });
      const second = await handleCommand(store, counter, s, { type: "Add", data: { amount: 3 } }, { idempotencyKey: key });
      expect(second.position).toBe(first.position);
      expect(await store.readStream(s)).toHaveLength(1);
    });

    it("snapshots every N events and loads from the snapshot", async () => {
      const s = stream();
      const decider = { ...counter, snapshot: { every: 10, schemaVersion: 1 } };
      for (let i = 0; i < 25; i++) await handleCommand(store, decider, s, { type: "Add", data: { amount: 1 } });
      const snap = await store.loadSnapshot(s);
      expect(snap).toMatchObject({ version: 20, schemaVersion: 1, state: { total: 20 } });
      const loaded = await loadState(store, decider, s);
      expect(loaded).toEqual({ state: { total: 25 }, version: 25, eventsRead: 5 });
    });

    it("ignores a snapshot whose schema version is outdated and rebuilds from events", async () => {
      const s = stream();
      await store.appendToStream(s, [added(2), added(3)]);
      await store.saveSnapshot({ streamId: s, version: 2, schemaVersion: 1, state: { total: 999 } });
      const v2 = { ...counter, snapshot: { every: 10, schemaVersion: 2 } };
      expect(await loadState(store, v2, s)).toEqual({ state: { total: 5 }, version: 2, eventsRead: 2 });
      const v1 = { ...counter, snapshot: { every: 10, schemaVersion: 1 } };
      expect((await loadState(store, v1, s)).state.total).toBe(999);
    });

    it("upcasts old event shapes through the whole chain on every read", async () => {
      const upcasters = new Upcasters([
        { type: "Added", fromVersion: 1, upcast: (d) => ({ ...(d as object), currency: "EUR" }) },
        { type: "Added", fromVersion: 2, upcast: (d) => ({ ...(d as object), note: "v3" }) },
      ]);
      const upcasting = await factory.create({ upcasters });
      const s = stream();
      await upcasting.appendToStream(s, [
        { ...added(4), schemaVersion: 1 },
        { ...added(5), schemaVersion: 2 },
      ]);
      const events = await upcasting.readStream(s);
      expect(events.map((e) => [e.schemaVersion, e.data])).toEqual([
        [3, { amount: 4, currency: "EUR", note: "v3" }],
        [3, { amount: 5, note: "v3" }],
      ]);
      const all = await upcasting.readAll({ categories: ["counter"], batchSize: 100_000 });
      expect(all.events.find((x) => x.streamId === s)?.schemaVersion).toBe(3);
    });

    it("stamps an event written without a schema version with the newest its upcasters know, so it is never upcast", async () => {
      const upcasting = await factory.create({
        upcasters: new Upcasters([{ type: "Added", fromVersion: 1, upcast: (d) => ({ ...(d as object), currency: "EUR" }) }]),
      });
      const s = stream();
      await upcasting.appendToStream(s, [{ type: "Added", data: { amount: 6, currency: "USD" } }, added(7)]);
      const events = await upcasting.readStream(s);
      expect(events.map((e) => [e.type, e.schemaVersion, e.data])).toEqual([
        ["Added", 2, { amount: 6, currency: "USD" }],
        ["Added", 2, { amount: 7 }],
      ]);
    });

    it("records an idempotency key's answer with the events, and refuses the key a second time writing nothing", async () => {
      const s = stream();
      const key = `idem-${id()}`;
      const respond = (results: { version: number; position: number }[]) => ({
        status: 201,
        body: { version: results[0]?.version },
      });
      await store.appendToStream(s, [added(1)], { idempotency: { key, fingerprint: "f1", respond } });
      expect(await store.idempotencyRecord(key)).toEqual({ key, fingerprint: "f1", status: 201, body: { version: 1 } });
      await expect(
        store.appendToStream(s, [added(2)], { idempotency: { key, fingerprint: "f2", respond } }),
      ).rejects.toBeInstanceOf(IdempotencyKeyTaken);
      expect(await store.readStream(s)).toHaveLength(1);
      expect(await store.idempotencyRecord(`missing-${id()}`)).toBeUndefined();
    });

    it("forgets a subject: personal fields read back redacted while the rest and rebuilds still work", async () => {
      const personalData: PersonalDataPolicy = {
        Registered: { subject: (d) => String(d.customerId), fields: ["name", "email"] },
      };
      const pii = await factory.create({ personalData });
      const customerId = id();
      const s = `customer-${customerId}`;
      await pii.appendToStream(s, [
        { type: "Registered", data: { customerId, name: "Ada Lovelace", email: "ada@example.com", tier: "gold" } },
      ]);
      expect((await pii.readStream(s))[0]?.data).toEqual({
        customerId,
        name: "Ada Lovelace",
        email: "ada@example.com",
        tier: "gold",
      });
      await pii.saveSnapshot({ streamId: s, version: 1, schemaVersion: 1, state: { name: "Ada Lovelace" } });
      await pii.forgetSubject(customerId);
      const [forgotten] = await pii.readStream(s);
      expect(forgotten?.data).toEqual({ customerId, name: REDACTED, email: REDACTED, tier: "gold" });
      expect(await pii.loadSnapshot(s)).toBeUndefined();
      const all = await pii.readAll({ categories: ["customer"], batchSize: 100_000 });
      expect(all.events.find((e) => e.streamId === s)?.data).toMatchObject({ name: REDACTED, tier: "gold" });
    });
  });
}

export type { CounterEvent };
