/** The trace id inside a W3C `traceparent` (`00-<trace id>-<parent id>-<flags>`), if it is well-formed. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const m = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent?.trim() ?? "");
  return m?.[1];
}

/** Log fields that tie a line to an event and its trace. */
export function eventLogFields(event: {
  eventId: string;
  streamId: string;
  metadata: { correlationId: string; causationId: string; traceparent?: string };
}): Record<string, string | undefined> {
  return {
    eventId: event.eventId,
    streamId: event.streamId,
    correlationId: event.metadata.correlationId,
    causationId: event.metadata.causationId,
    traceId: traceIdOf(event.metadata.traceparent),
  };
}
