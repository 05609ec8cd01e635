import type { RecordedEvent } from "./messages.ts";
import { traceIdOf } from "./telemetry.ts";

/** Log fields that tie a line to an event and its trace. */
export function eventLogFields(
  event: Pick<RecordedEvent, "eventId" | "streamId" | "metadata">,
): Record<string, string | undefined> {
  return {
    eventId: event.eventId,
    streamId: event.streamId,
    correlationId: event.metadata.correlationId,
    causationId: event.metadata.causationId,
    traceId: traceIdOf(event.metadata),
  };
}
