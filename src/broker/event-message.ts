import type { Options } from "amqplib";
import { type RecordedEvent, streamCategory } from "../core/messages.ts";
import { contextFrom, headersFor } from "../core/telemetry.ts";

export type EventMessage = { routingKey: string; content: Buffer; options: Options.Publish };

/** `<category>.<EventType>`: consumers bind patterns such as `invoice.*` or `#.InvoiceSent`. */
export function routingKeyOf(event: Pick<RecordedEvent, "streamId" | "type">): string {
  return `${streamCategory(event.streamId)}.${event.type}`;
}

/**
 * The AMQP form of a recorded event: the envelope as JSON, with the ids consumers need as properties and
 * the trace context in the headers (the publisher's span when given, else the one the event was appended in).
 */
export function toEventMessage(
  event: RecordedEvent,
  trace: Record<string, string> = headersFor(contextFrom(event.metadata)),
): EventMessage {
  const headers: Record<string, unknown> = {
    "x-stream-id": event.streamId,
    "x-stream-version": event.version,
    "x-global-position": event.position,
    "x-schema-version": event.schemaVersion,
    "x-causation-id": event.metadata.causationId,
  };
  Object.assign(headers, trace);
  return {
    routingKey: routingKeyOf(event),
    content: Buffer.from(JSON.stringify(event)),
    options: {
      persistent: true,
      mandatory: true,
      messageId: event.eventId,
      type: event.type,
      contentType: "application/json",
      timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
      correlationId: event.metadata.correlationId,
      headers,
    },
  };
}
