import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import amqp from "amqplib";
import { queueNames } from "../../src/consumers/topology.ts";
import { findSaga, startSaga } from "../../src/sagas/saga-store.ts";
import { amqpUrl } from "../support/amqp.ts";
import { ADMIN_TOKEN, createShopHarness } from "../support/shop-harness.ts";

let h: Awaited<ReturnType<typeof createShopHarness>>;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  h = await createShopHarness({ pipeline: true });
});
afterAll(async () => h.close());

describe("the admin routes on the real components", () => {
  it("show the outbox and release one parked stream, then all of them", async () => {
    const streams = [`held-${crypto.randomUUID()}`, `held-${crypto.randomUUID()}`];
    // The relay runs: rows are made to look parked in one statement with their insert.
    await h.db.sql.begin(async (tx) => {
      for (const s of streams) {
        await tx`insert into eventline_events (event_id, stream_id, category, version, type, data, metadata)
                 values (${crypto.randomUUID()}, ${s}, 'held', 1, 'Held', '{}', '{}')`;
        await tx`insert into eventline_outbox (position, event_id, stream_id, version, stream_hash, attempts, parked_at, last_error)
                 select position, event_id, stream_id, version, hashtext(stream_id), 10, now(), 'timeout'
                 from eventline_events where stream_id = ${s}`;
      }
    });
    const status = await h.call("GET", "/admin/outbox", undefined, auth);
    expect(status.status).toBe(200);
    expect((status.body.parked as { streamId: string }[]).map((p) => p.streamId).sort()).toEqual([...streams].sort());
    expect((await h.call("POST", `/admin/outbox/${streams[0]}/release`, undefined, auth)).body).toEqual({ released: 1 });
    await h.db.sql`update eventline_outbox set attempts = 10, parked_at = now() where stream_id = ${streams[0] as string}`;
    expect((await h.call("POST", "/admin/outbox/release-all", undefined, auth)).body).toEqual({ released: 2 });
  });

  it("give each read model's lag", async () => {
    const lag = await h.call("GET", "/admin/consumers", undefined, auth);
    expect((lag.body as unknown as { consumer: string }[]).map((l) => l.consumer).sort()).toEqual([
      "catalog",
      "customers",
      "orders",
      "sales",
    ]);
  });

  it("list, replay and purge a consumer's dead letters from its real queues", async () => {
    const conn = await amqp.connect(amqpUrl());
    try {
      const ch = await conn.createConfirmChannel();
      const messageId = crypto.randomUUID();
      ch.sendToQueue(queueNames("sales", h.queuePrefix).dead, Buffer.from("{}"), {
        messageId,
        headers: { "x-dead-reason": "it broke", "x-attempts": 5 },
      });
      await ch.waitForConfirms();
      await ch.close();
      const list = await h.call("GET", "/admin/consumers/sales/dead-letters", undefined, auth);
      expect(list.body).toMatchObject([{ messageId, reason: "it broke", attempts: 5 }]);
      expect((await h.call("POST", `/admin/consumers/sales/dead-letters/replay?id=${messageId}`, undefined, auth)).body).toEqual({
        replayed: 1,
      });
      // Replayed to the live consumer, which cannot read "{}" and dead-letters it again, for another reason.
      type Dead = { messageId: string; reason: string };
      let after: Dead[] = [];
      for (const deadline = Date.now() + 10_000; !after.some((d) => d.messageId === messageId) && Date.now() < deadline; ) {
        await Bun.sleep(50);
        after = (await h.call("GET", "/admin/consumers/sales/dead-letters", undefined, auth)).body as unknown as Dead[];
      }
      expect(after.filter((d) => d.messageId === messageId).map((d) => d.reason === "it broke")).toEqual([false]);
      const purged = (await h.call("DELETE", "/admin/consumers/sales/dead-letters", undefined, auth)).body.purged;
      expect(purged).toBe(after.length);
      expect((await h.call("GET", "/admin/consumers/sales/dead-letters", undefined, auth)).body).toHaveLength(0);
      expect((await h.call("GET", "/admin/consumers/nonesuch/dead-letters", undefined, auth)).status).toBe(404);
    } finally {
      await conn.close();
    }
  });

  it("list sagas by status and retry only one that needs attention", async () => {
    const sagaId = `checkout-${crypto.randomUUID()}`;
    await startSaga(h.db.sql, { sagaId, sagaType: "nobody-runs-this", data: {} }, h.sagaChannel);
    expect((await h.call("POST", `/admin/sagas/${sagaId}/retry`, undefined, auth)).status).toBe(404);
    await h.db.sql`update eventline_saga_instances set status = 'needs_attention' where saga_id = ${sagaId}`;
    const listed = await h.call("GET", "/admin/sagas?status=needs_attention", undefined, auth);
    expect((listed.body as unknown as { sagaId: string }[]).map((s) => s.sagaId)).toContain(sagaId);
    expect((await h.call("POST", `/admin/sagas/${sagaId}/retry`, undefined, auth)).status).toBe(202);
    expect((await findSaga(h.db.sql, sagaId))?.status).toBe("compensating");
  });

  it("start a rebuild of a known read model, refuse one while another runs (409), and an unknown one (404)", async () => {
    expect((await h.call("POST", "/admin/read-models/catalog/rebuild", undefined, auth)).status).toBe(202);
    expect((await h.call("POST", "/admin/read-models/nonesuch/rebuild", undefined, auth)).status).toBe(404);
    // Another rebuild of customers holds its lock (as a CLI rebuild would).
    const session = await h.db.sql.reserve();
    try {
      await session`select pg_advisory_lock(hashtext('eventline.rebuild.' || current_schema() || '.customers'))`;
      const refused = await h.call("POST", "/admin/read-models/customers/rebuild", undefined, auth);
      expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 409, code: "REBUILD_RUNNING" });
    } finally {
      await session`select pg_advisory_unlock_all()`;
      session.release();
    }
  });
});
