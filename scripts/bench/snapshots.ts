/** Section 6: time to load a stream of 10, 1,000 and 10,000 events, with and without snapshots. */
import type { Decider } from "../../src/core/decider.ts";
import { loadState } from "../../src/core/load-state.ts";
import { connect } from "../../src/store/connect.ts";
import { createPostgresEventStore } from "../../src/store/postgres-event-store.ts";
import { percentile } from "./measure.ts";

export type SnapshotRow = { events: number; withoutMs: number; withMs: number; eventsReadWith: number };

type Counted = { n: number };
const plain: Decider<{ type: "Tick"; data: object }, { type: "Ticked"; data: object }, Counted> = {
  initialState: () => ({ n: 0 }),
  decide: () => [{ type: "Ticked", data: {} }],
  evolve: (s) => ({ n: s.n + 1 }),
};
const snapshotting = { ...plain, snapshot: { every: 100, schemaVersion: 1 } };

export async function benchSnapshots(url: string, sizes: number[], samples: number): Promise<SnapshotRow[]> {
  const sql = connect(url, { max: 4 });
  const store = createPostgresEventStore({ sql });
  const rows: SnapshotRow[] = [];
  for (const size of sizes) {
    const streamId = `benchsnap-${size}-${crypto.randomUUID().slice(0, 8)}`;
    for (let v = 0; v < size; v += 1000) {
      await store.appendToStream(
        streamId,
        Array.from({ length: Math.min(1000, size - v) }, () => ({ type: "Ticked", data: {} })),
      );
    }
    // The snapshot the policy would have written at the last multiple of 100.
    const at = size - (size % 100);
    if (at > 0) await store.saveSnapshot({ streamId, version: at, schemaVersion: 1, state: { n: at } });
    const time = async (decider: typeof plain) => {
      const ms: number[] = [];
      let read = 0;
      for (let i = 0; i < samples; i++) {
        const t = performance.now();
        const loaded = await loadState(store, decider, streamId);
        ms.push(performance.now() - t);
        read = loaded.eventsRead;
        if (loaded.state.n !== size) throw new Error(`loaded ${loaded.state.n} of ${size}`);
      }
      return {
        ms: percentile(
          ms.sort((a, b) => a - b),
          50,
        ),
        read,
      };
    };
    const without = await time(plain);
    const withSnapshot = await time(snapshotting);
    rows.push({ events: size, withoutMs: without.ms, withMs: withSnapshot.ms, eventsReadWith: withSnapshot.read });
  }
  await sql.end();
  return rows;
}
