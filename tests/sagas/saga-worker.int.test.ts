import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { DomainError } from "../../src/core/errors.ts";
import { createLogger } from "../../src/log.ts";
import type { SagaDefinition } from "../../src/sagas/saga-definition.ts";
import { findSaga, startSaga } from "../../src/sagas/saga-store.ts";
import { createSagaWorker } from "../../src/sagas/saga-worker.ts";
import { connect } from "../../src/store/connect.ts";
import { createLiveness, type Liveness } from "../../src/core/liveness.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";

const quiet = createLogger({ role: "test" }, "error");
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

type Plan = { failAt?: string; business?: boolean; transientFailures?: number; hangAt?: string; lateAt?: string };

/** A saga of three steps that logs what it does, failing the way the plan says. */
function recordingSaga(type: string, effects: string[], plan: Plan): SagaDefinition<unknown> {
  let transient = plan.transientFailures ?? 0;
  const step = (name: string) => ({
    name,
    deadlineMs: 200,
    graceMs: 1_000,
    maxAttempts: 3,
    action: async ({ signal }: { signal: AbortSignal }) => {
      // Hangs until aborted, as a step that passes its signal on does.
      if (plan.hangAt === name)
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, 5_000);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        });
      // Ignores the abort and lands its effect late, as a provider that already took the money does.
      if (plan.lateAt === name) await Bun.sleep(500);
      if (plan.failAt === name) {
        if (plan.business) throw new DomainError("NO", `${name} refused`);
        if (transient-- > 0) throw new Error(`${name} hiccup`);
      }
      effects.push(`do ${name}`);
    },
    compensate: async () => {
      effects.push(`undo ${name}`);
    },
  });
  return { type, steps: [step("a"), step("b"), step("c")], retry: { baseMs: 5, maxMs: 20 } };
}

async function run(plan: Plan, liveness?: Liveness) {
  const type = `t${crypto.randomUUID().slice(0, 8)}`;
  const effects: string[] = [];
  const worker = createSagaWorker({
    sql: db.sql,
    sagas: [recordingSaga(type, effects, plan)],
    log: quiet,
    notifyChannel: `s_${type}`,
    pollMs: 20,
    liveness,
  });
  const sagaId = `${type}-1`;
  await startSaga(db.sql, { sagaId, sagaType: type, data: {} }, `s_${type}`);
  await worker.start();
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const s = await findSaga(db.sql, sagaId);
      if (s && ["completed", "compensated", "needs_attention"].includes(s.status)) return { saga: s, effects };
      if (Date.now() > deadline) throw new Error(`saga stuck: ${JSON.stringify(s)}`);
      await Bun.sleep(20);
    }
  } finally {
    await worker.stop();
  }
}

describe("the saga worker", () => {
  it("runs every step in order and completes", async () => {
    const { saga, effects } = await run({});
    expect(saga.status).toBe("completed");
    expect(effects).toEqual(["do a", "do b", "do c"]);
  });

  it("compensates the failed step and its predecessors last-first after a business failure", async () => {
    const { saga, effects } = await run({ failAt: "c", business: true });
    expect(saga.status).toBe("compensated");
    expect(effects).toEqual(["do a", "do b", "undo c", "undo b", "undo a"]);
    expect(saga.failure).toBe("c: c refused");
  });

  it("retries a transient failure with backoff and then goes on", async () => {
    const { saga, effects } = await run({ failAt: "b", transientFailures: 2 });
    expect(saga.status).toBe("completed");
    expect(effects).toEqual(["do a", "do b", "do c"]);
    expect(saga.history.filter((h) => h.outcome.startsWith("retry")).length).toBe(2);
  });

  it("counts a step past its deadline as failed", async () => {
    const { saga, effects } = await run({ hangAt: "b" });
    expect(saga.status).toBe("compensated");
    expect(saga.failure).toContain("did not finish within 200 ms");
    expect(effects.slice(0, 1)).toEqual(["do a"]);
    expect(effects).toContain("undo a");
  });

  it("reports itself stalled while a step runs past the stall time, and live once nothing is due", async () => {
    const liveness = createLiveness({ stallMs: 150 });
    const seen: boolean[] = [];
    const watch = setInterval(() => seen.push(liveness.report().live), 20);
    try {
      const { saga } = await run({ lateAt: "b" }, liveness);
      expect(saga.history.length).toBeGreaterThan(0);
      await Bun.sleep(100);
    } finally {
      clearInterval(watch);
    }
    expect(seen.includes(false)).toBe(true);
    expect(liveness.report().live).toBe(true);
  });

  it("compensates a step that overran its deadline only after its late effect has landed", async () => {
    const { saga, effects } = await run({ lateAt: "b" });
    expect(saga.status).toBe("compensated");
    expect(saga.failure).toContain("did not finish within 200 ms");
    expect(effects).toEqual(["do a", "do b", "undo b", "undo a"]);
  });

  it("gives up on a step that keeps failing transiently and compensates", async () => {
    const { saga, effects } = await run({ failAt: "b", transientFailures: 10 });
    expect(saga.status).toBe("compensated");
    expect(effects).toEqual(["do a", "undo b", "undo a"]);
  });

  it("runs each step once when two workers on their own pools contend for the same instances", async () => {
    const type = `t${crypto.randomUUID().slice(0, 8)}`;
    const runs = new Map<string, number>();
    const saga: SagaDefinition<unknown> = {
      type,
      retry: { baseMs: 5, maxMs: 20 },
      steps: ["a", "b", "c"].map((name) => ({
        name,
        action: async ({ sagaId }: { sagaId: string }) => {
          runs.set(`${sagaId}:${name}`, (runs.get(`${sagaId}:${name}`) ?? 0) + 1);
          await Bun.sleep(20);
        },
      })),
    };
    const pools = [0, 1].map(() => connect(db.url, { max: 4, schema: db.schema }));
    const workers = pools.map((sql) =>
      createSagaWorker({ sql, sagas: [saga], log: quiet, notifyChannel: `s_${type}`, pollMs: 10 }),
    );
    const ids = Array.from({ length: 10 }, (_, i) => `${type}-${i}`);
    for (const sagaId of ids) await startSaga(db.sql, { sagaId, sagaType: type, data: {} }, `s_${type}`);
    for (const w of workers) await w.start();
    try {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const done = await Promise.all(ids.map((id) => findSaga(db.sql, id)));
        if (done.every((s) => s?.status === "completed")) break;
        if (Date.now() > deadline) throw new Error("sagas did not complete");
        await Bun.sleep(20);
      }
    } finally {
      for (const w of workers) await w.stop();
      for (const sql of pools) await sql.end();
    }
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(runs.size).toBe(30);
  });
  it("runs as many instances at once as its concurrency, and each step once", async () => {
    const type = `t${crypto.randomUUID().slice(0, 8)}`;
    const seen = { running: 0, mostAtOnce: 0, runs: 0 };
    const saga: SagaDefinition<unknown> = {
      type,
      steps: [
        {
          name: "slow",
          action: async () => {
            seen.running++;
            seen.mostAtOnce = Math.max(seen.mostAtOnce, seen.running);
            await Bun.sleep(150);
            seen.running--;
            seen.runs++;
          },
        },
      ],
    };
    const ids = Array.from({ length: 12 }, (_, i) => `${type}-${i}`);
    for (const sagaId of ids) await startSaga(db.sql, { sagaId, sagaType: type, data: {} }, `s_${type}`);
    const worker = createSagaWorker({
      sql: db.sql,
      sagas: [saga],
      log: quiet,
      notifyChannel: `s_${type}`,
      pollMs: 10,
      concurrency: 4,
    });
    await worker.start();
    try {
      const deadline = Date.now() + 10_000;
      while (!(await Promise.all(ids.map((id) => findSaga(db.sql, id)))).every((s) => s?.status === "completed")) {
        if (Date.now() > deadline) throw new Error("sagas did not complete");
        await Bun.sleep(20);
      }
    } finally {
      await worker.stop();
    }
    expect({ mostAtOnce: seen.mostAtOnce, runs: seen.runs }).toEqual({ mostAtOnce: 4, runs: 12 });
  });
  it("refuses a concurrency that would run no saga at all", () => {
    for (const concurrency of [0, -1, 1.5, Number.NaN])
      expect(() => createSagaWorker({ sql: db.sql, sagas: [], log: quiet, notifyChannel: "s_none", concurrency })).toThrow(
        "concurrency must be a whole number of at least 1",
      );
  });
});
