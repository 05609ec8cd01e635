import type { Command, Event } from "./messages.ts";

/** Snapshot policy of a decider: store the state every `every` events, tagged with `schemaVersion`. */
export type SnapshotPolicy = { every: number; schemaVersion: number };

/**
 * Pure domain logic: `decide` turns a command and the current state into events (or throws a
 * DomainError), `evolve` folds one event into the state, `initialState` is the state of an empty stream.
 */
export type Decider<C extends Command, E extends Event, S> = {
  decide: (command: C, state: S) => E[];
  evolve: (state: S, event: E) => S;
  initialState: () => S;
  snapshot?: SnapshotPolicy;
};
