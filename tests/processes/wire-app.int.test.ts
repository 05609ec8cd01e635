import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { defineApp, defineReadModel, defineSaga, REDACTED, Upcasters } from "../../src/index.ts";
import { wireApp } from "../../src/runtime.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

type MemberEvent = { type: "MemberJoined"; data: { memberId: string; email: string; plan: string } };

const members = defineReadModel<MemberEvent>()({
  name: "members",
  bindings: ["member.#"],
  tables: { members: (t) => `create table ${t} (member_id text primary key)` },
  handlers: { MemberJoined: async () => {} },
});

const app = (sagaType = "welcome") =>
  defineApp({
    name: "club",
    personalData: { MemberJoined: { subject: (d) => String(d.memberId), fields: ["email"] } },
    // Version 1 had no plan: every member was on the free one.
    upcasters: new Upcasters([{ type: "MemberJoined", fromVersion: 1, upcast: (d) => ({ plan: "free", ...(d as object) }) }]),
    readModels: [members],
    sagas: () => [
      defineSaga<MemberEvent>()<{ memberId: string }>({
        type: sagaType,
        steps: [{ name: "greet", action: async () => {} }],
        start: { bindings: ["member.#"], on: { MemberJoined: (e) => ({ sagaId: e.data.memberId, data: e.data }) } },
      }),
    ],
  });

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ max: 4 });
});
afterAll(async () => db.drop());

describe("an app wired for its consumers", () => {
  it("gives read models a stored event of an older version upcast, with its personal fields opened", async () => {
    const wired = wireApp(app(), { sql: db.sql });
    const memberId = `m-${crypto.randomUUID()}`;
    await wired.store.appendToStream(`member-${memberId}`, [
      { type: "MemberJoined", data: { memberId, email: "ann@example.com" }, schemaVersion: 1 },
    ]);
    // What a delivery or the sweep's sealed read carries: the event as stored.
    const { events } = await wired.store.readAll({ categories: ["member"], batchSize: 100, sealed: true });
    const stored = events.find((e) => e.streamId === `member-${memberId}`);
    expect(stored?.schemaVersion).toBe(1);
    expect(JSON.stringify(stored?.data)).not.toContain("ann@example.com");

    const [ready] = await (wired.prepare as NonNullable<typeof wired.prepare>)([stored as NonNullable<typeof stored>]);
    expect(ready?.schemaVersion).toBe(2);
    expect(ready?.data).toEqual({ plan: "free", memberId, email: "ann@example.com" });

    // Saga starters get it upcast but still sealed: saga data is stored in clear and outlives a forget.
    const [forSaga] = await (wired.prepareSealed as NonNullable<typeof wired.prepareSealed>)([
      stored as NonNullable<typeof stored>,
    ]);
    expect(forSaga?.data).toMatchObject({ plan: "free", memberId });
    expect(JSON.stringify(forSaga?.data)).not.toContain("ann@example.com");
    expect(JSON.stringify(forSaga?.data)).not.toContain(REDACTED);
  });

  it("refuses a saga type that is a read model's name, or no identifier, when the sagas are built", () => {
    expect(() => wireApp(app("members"), { sql: db.sql }).sagas()).toThrow(/already the name of a read model/);
    expect(() => wireApp(app("wel-come"), { sql: db.sql }).sagas()).toThrow(/lower-case identifier/);
    expect(
      wireApp(app(), { sql: db.sql })
        .sagas()
        .map((s) => s.type),
    ).toEqual(["welcome"]);
  });
});
