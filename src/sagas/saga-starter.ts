import type { ConsumerDefinition, EventHandler } from "../consumers/consumer-definition.ts";
import type { SagaDefinition } from "./saga-definition.ts";
import { carrierOf, contextFrom } from "../core/telemetry.ts";
import { startSaga } from "./saga-store.ts";

/**
 * The consumer that starts a saga's instances from its `start` events. It is named after the saga's type,
 * and starting an instance commits with the consumer's inbox row, so a redelivery starts nothing twice.
 */
export function sagaStarter<D>(saga: SagaDefinition<D>, notifyChannel: string): ConsumerDefinition {
  if (!saga.start) throw new TypeError(`saga ${saga.type} has no start events`);
  const handlers: Record<string, EventHandler> = {};
  for (const [type, startOf] of Object.entries(saga.start.on)) {
    handlers[type] = async ({ tx, event }) => {
      const start = startOf(event);
      if (!start) return;
      // The instance keeps the event that started it, and its trace for the steps' spans to continue.
      const trace = carrierOf(contextFrom(event.metadata));
      await startSaga(
        tx,
        { sagaId: start.sagaId, sagaType: saga.type, data: start.data, startedBy: event.eventId, trace },
        notifyChannel,
      );
    };
  }
  // One at a time in log order: two streams' start events may name the same instance, and the first
  // in the log must be the one that starts it.
  return { name: saga.type, bindings: saga.start.bindings, tables: {}, handlers, sequential: true };
}
