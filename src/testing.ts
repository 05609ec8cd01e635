/** `eventline/testing`: an in-memory event store and given/when/then for deciders. */

/** The in-memory event store: the same contract as Postgres, in one process. */
export {
  createInMemoryEventStore,
  createInMemoryKeyStore,
  type InMemoryEventStoreOptions,
} from "./core/in-memory-event-store.ts";
/** `deciderSpec(decider).given(events).when(command).thenEmits(events)` or `.thenRejects(code)`. */
export { deciderSpec } from "./core/decider-spec.ts";
