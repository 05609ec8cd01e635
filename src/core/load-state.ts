import type { Decider } from "./decider.ts";
import type { EventStore } from "./event-store.ts";
import type { Command, Event } from "./messages.ts";

export type LoadedState<S> = { state: S; version: number; eventsRead: number };

/** Where to stop when loading: the latest state, or the state as of a version or a point in time. */
export type AsOf = { version?: number; at?: Date };

/**
 * Folds a stream into the decider's state. A snapshot is used when its schema version is the decider's
 * current one and it is not past the requested version; an outdated one is ignored and events replayed.
 */
export async function loadState<C extends Command, E extends Event, S>(
  store: EventStore,
  decider: Decider<C, E, S>,
  streamId: string,
  asOf: AsOf = {},
): Promise<LoadedState<S>> {
  let state = decider.initialState();
  let version = 0;
  if (decider.snapshot && !asOf.at) {
    const snap = await store.loadSnapshot(streamId);
    if (snap && snap.schemaVersion === decider.snapshot.schemaVersion && snap.version <= (asOf.version ?? Infinity)) {
      state = snap.state as S;
      version = snap.version;
    }
  }
  const events = await store.readStream(streamId, { fromVersion: version + 1, toVersion: asOf.version, until: asOf.at });
  for (const e of events) {
    state = decider.evolve(state, { type: e.type, data: e.data } as E);
    version = e.version;
  }
  return { state, version, eventsRead: events.length };
}
